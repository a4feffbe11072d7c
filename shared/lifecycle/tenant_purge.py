"""Deleting a whole tenant: closing it at once, then every row, blob and secret under its id.

`begin` runs in the request: it writes the tombstone (`deletions`, RK `del_...`), marks the tenant
row deleted (sign-in to it is refused from then on, see `TenantDirectory.sight`) and removes the
key-index rows of its API keys (every key answers 401). The queued job then runs `steps`: each is a
tenant-wide prefix deletion (all projects at once, and whatever a lost project tombstone left), so,
as in the project cascade, each deletes what is left and a retry finishes the work. `close` removes
the tenant row last; a user signing in afterwards gets a new, empty tenant under the same id.

What stays: the tenant's deletion receipts (its `deletions` rows of kind `tenant`), which hold the
tenant id, the kind of tenant, times and counts, and no name, user id or content.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.clock import Clock
from shared.ids import new_id
from shared.lifecycle.scopes import delete_blobs, delete_partitions
from shared.secrets import SecretBackend
from shared.storage import BlobContainer, Filter, ModelTable, StorageAccount, Table, where
from shared.storage.catalog import (
    ACTIVATION_TABLE,
    API_KEY_INDEX_TABLE,
    API_KEYS_TABLE,
    AUDIT_TABLE,
    DELETIONS_TABLE,
    MEMBERSHIPS_TABLE,
    PROJECTS_TABLE,
    ROLLUP_WORK_TABLE,
    TENANTS_TABLE,
    USER_TENANTS_TABLE,
)
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.api_key_store import INDEX_ROW
from shared.tenancy.records import DeletionRecord
from shared.tenancy.tenants import TENANT_ROW
from shared.trends.work import RollupWork

TENANT_KIND = "tenant"
DELETION_PREFIX = "del"
# The receipt names the role that asked, never the person: it outlives everything else of the tenant.
REQUESTED_BY = "owner"

TenantStep = tuple[str, Callable[[str], int]]


class TenantPurge:
    """The tenant-wide parts of a tenant's deletion (the project tables come from the cascade)."""

    def __init__(
        self,
        account: StorageAccount,
        secrets: SecretBackend,
        clock: Clock,
        project_tables: Mapping[str, Table],
        containers: Mapping[str, BlobContainer],
    ) -> None:
        self.secrets = secrets
        self.clock = clock
        self.project_tables = project_tables
        self.containers = containers
        self.tombstones = ModelTable(account, DELETIONS_TABLE, DeletionRecord)
        self.tenants = Table(account, TENANTS_TABLE)
        self.projects = Table(account, PROJECTS_TABLE)
        self.memberships = Table(account, MEMBERSHIPS_TABLE)
        self.user_tenants = Table(account, USER_TENANTS_TABLE)
        self.activation = Table(account, ACTIVATION_TABLE)
        self.audit = Table(account, AUDIT_TABLE)
        self.key_index = Table(account, API_KEY_INDEX_TABLE)
        self.api_keys = Table(account, API_KEYS_TABLE)
        self.rollup_work = RollupWork(account)

    def begin(self, tenant_id: str, tenant_kind: str) -> DeletionRecord:
        """Close the tenant at once and record the work; the caller then enqueues the cascade."""
        tombstone = DeletionRecord(
            partition_key=tenant_id,
            row_key=new_id(DELETION_PREFIX),
            kind=TENANT_KIND,
            name=tenant_kind,
            requested_at=self.clock.now(),
            requested_by=REQUESTED_BY,
        )
        # The tombstone first: whatever fails after it leaves the work recorded for the resend timer.
        self.tombstones.insert(tombstone)
        self.tenants.update(
            {"PartitionKey": tenant_id, "RowKey": TENANT_ROW, "deleted_at": tombstone.requested_at}, "*", mode="merge"
        )
        closed_keys = self.delete_key_index(tenant_id)
        # Counted in the receipt like the cascade's own steps (which find these rows gone).
        tombstone = tombstone.model_copy(update={"counts": {f"table:{API_KEY_INDEX_TABLE}": closed_keys}})
        self.tombstones.upsert(tombstone)
        return tombstone

    def steps(self) -> list[TenantStep]:
        """The cascade's steps in order, each `(name, run(tenant_id) -> deleted count)`."""
        steps: list[TenantStep] = [
            # Index rows are keyed by key id alone: found through the key rows, so before them.
            (f"table:{API_KEY_INDEX_TABLE}", self.delete_key_index),
            (f"table:{PROJECTS_TABLE}", lambda tenant: delete_partitions(self.projects, tenant)),
        ]
        for name, table in self.project_tables.items():
            steps.append((f"table:{name}", _prefix_step(table)))
        for name, container in self.containers.items():
            steps.append((f"blobs:{name}", _blob_step(container)))
        steps += [
            ("secrets", lambda tenant: self.secrets.delete_scope(tenant)),
            # Keyed by hour, not by tenant: searched for the tenant's projects instead.
            (f"table:{ROLLUP_WORK_TABLE}", self.rollup_work.forget_tenant),
            # The user index rows are found through the memberships, so before them.
            (f"table:{USER_TENANTS_TABLE}", self._delete_user_index),
            (f"table:{MEMBERSHIPS_TABLE}", lambda tenant: delete_partitions(self.memberships, tenant)),
            (f"table:{ACTIVATION_TABLE}", lambda tenant: delete_partitions(self.activation, tenant)),
            # Every audit partition of the tenant: `<tenant>~-` and `<tenant>~<project>`.
            (f"table:{AUDIT_TABLE}", lambda tenant: delete_partitions(self.audit, tenant)),
            (f"table:{DELETIONS_TABLE}", self._delete_tombstones),
        ]
        return steps

    def delete_key_index(self, tenant_id: str) -> int:
        """Delete the index rows of every API key of the tenant (each key then answers 401)."""
        count = 0
        for key in self.api_keys.query_all(_tenant_range(tenant_id), select=["RowKey"]):
            pointer = self.key_index.find(key.row_key, INDEX_ROW)
            # Only an index row that points back into this tenant is ours to delete.
            if pointer is not None and pointer.get("tenant_id") == tenant_id:
                self.key_index.delete(key.row_key, INDEX_ROW)
                count += 1
        return count

    def _delete_user_index(self, tenant_id: str) -> int:
        count = 0
        for member in self.memberships.query_all(where("PartitionKey eq @pk", pk=tenant_id), select=["RowKey"]):
            if self.user_tenants.find(member.row_key, tenant_id, select=["RowKey"]) is not None:
                self.user_tenants.delete(member.row_key, tenant_id)
                count += 1
        return count

    def _delete_tombstones(self, tenant_id: str) -> int:
        """Every tombstone of the tenant but its deletion receipts (project ones hold names and user ids)."""
        rows = [
            row.row_key
            for row in self.tombstones.table.query_all(
                where("PartitionKey eq @pk", pk=tenant_id), select=["RowKey", "kind"]
            )
            if row.get("kind") != TENANT_KIND
        ]
        for row_key in rows:
            self.tombstones.delete(tenant_id, row_key)
        return len(rows)

    def close(self, tenant_id: str) -> int:
        """Delete the tenant row if it is still the deleted one; a tenant created again since stays."""
        row = self.tenants.find(tenant_id, TENANT_ROW, select=["deleted_at"])
        if row is None or row.get("deleted_at") is None:
            return 0
        self.tenants.delete(tenant_id, TENANT_ROW)
        return 1


def _tenant_range(tenant_id: str) -> Filter:
    """Every partition `<tenant>~...` (project-scoped rows of the tenant)."""
    prefix = tenant_id + "~"
    return where("PartitionKey ge @low and PartitionKey lt @high", low=prefix, high=next_code_point_prefix(prefix))


def _prefix_step(table: Table) -> Callable[[str], int]:
    return lambda tenant: delete_partitions(table, tenant)


def _blob_step(container: BlobContainer) -> Callable[[str], int]:
    return lambda tenant: delete_blobs(container, tenant)
