"""The rollup timer's to-do list: which projects had run completions written in which hour.

`rollupwork` rows are keyed PK `YYYY-MM-DDTHH` (UTC, the hour a completion was written), RK
`<tenant>~<project>`, and hold nothing else. The timer reads the partitions of the last LOOKBACK
with one range query, so finding the projects with work costs what recent activity costs; the
feed itself (`runcompletions`) grows with every run ever and is only read per project, after its
watermark. A row is written before its completion, so a crash between the two leaves a row that
leads to nothing new, never a completion nobody looks for. Rows older than LOOKBACK are deleted by
the timer; a project's or tenant's cascade deletes theirs at once (the table holds a week at most,
so that search is small).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.storage import Filter, StorageAccount, Table, where
from shared.storage.catalog import ROLLUP_WORK_TABLE
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.records import scope_key

HOUR_FORMAT = "%Y-%m-%dT%H"


def work_partition(at: datetime) -> str:
    """The partition of completions written at `at`: its UTC hour."""
    return at.astimezone(UTC).strftime(HOUR_FORMAT)


class RollupWork:
    """Marks projects as having new completions and lists them for the rollup timer."""

    def __init__(self, account: StorageAccount) -> None:
        self.table = Table(account, ROLLUP_WORK_TABLE)

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def mark(self, tenant_id: str, project_id: str, at: datetime) -> None:
        """Note that the project has a completion written at `at` (idempotent)."""
        self.table.upsert({"PartitionKey": work_partition(at), "RowKey": scope_key(tenant_id, project_id)})

    def projects_since(self, since: datetime) -> list[tuple[str, str]]:
        """Every (tenant, project) marked in the hour of `since` or later, sorted."""
        query = where("PartitionKey ge @low", low=work_partition(since))
        scopes = {entity.row_key for entity in self.table.query_all(query, select=["PartitionKey", "RowKey"])}
        return sorted((tenant, project) for tenant, _, project in (scope.partition("~") for scope in scopes))

    def expire(self, before: datetime) -> int:
        """Delete the rows of hours before the hour of `before`; returns how many."""
        query = where("PartitionKey lt @high", high=work_partition(before))
        return self._delete(query)

    def forget_project(self, tenant_id: str, project_id: str) -> int:
        """Delete a project's rows (its cascade); returns how many."""
        return self._delete(where("RowKey eq @scope", scope=scope_key(tenant_id, project_id)))

    def forget_tenant(self, tenant_id: str) -> int:
        """Delete the rows of every project of a tenant (its cascade); returns how many."""
        prefix = tenant_id + "~"
        query = where("RowKey ge @low and RowKey lt @high", low=prefix, high=next_code_point_prefix(prefix))
        return self._delete(query)

    def _delete(self, query: Filter) -> int:
        keys = [
            {"PartitionKey": entity.partition_key, "RowKey": entity.row_key}
            for entity in self.table.query_all(query, select=["PartitionKey", "RowKey"])
        ]
        if keys:
            self.table.write_batch(("delete", key) for key in keys)
        return len(keys)
