"""Results of a run: one row per (target, case, trial), one partition per shard.

Rows are written in batches (at most 100 per transaction, one partition each). An output too
large for a row goes to a blob, and the row keeps its name. Keys: PartitionKey
`<tenant>~<project>~<run>~<shard>`, RowKey `<case id>~<trial>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import LiteralString

from shared.runs.models import ItemStatus, ResultRecord
from shared.runs.store import shard_partition
from shared.storage import BlobContainer, ModelTable, Page, StorageAccount, blob_path, where
from shared.storage.catalog import OUTPUTS_CONTAINER, RESULTS_TABLE
from shared.storage.tables import next_code_point_prefix

# A string property holds at most 64 KiB (32K UTF-16 code units); keep rows well below that.
MAX_INLINE_OUTPUT_CHARS = 8000


def result_partition(tenant_id: str, project_id: str, run_id: str, shard_id: str) -> str:
    """The partition of one shard's results."""
    return f"{shard_partition(tenant_id, project_id, run_id)}~{shard_id}"


def item_key(case_id: str, trial: int) -> str:
    """The RowKey of one item."""
    return f"{case_id}~{trial:03d}"


class ResultStore:
    """Reads and writes results and their large outputs."""

    def __init__(self, account: StorageAccount) -> None:
        self.table = ModelTable(account, RESULTS_TABLE, ResultRecord)
        self.outputs = BlobContainer(account, OUTPUTS_CONTAINER)

    def ensure(self) -> None:
        """Create the table and container (idempotent)."""
        self.table.ensure()
        self.outputs.ensure()

    def finished(self, tenant_id: str, project_id: str, run_id: str, shard_id: str) -> dict[str, ResultRecord]:
        """Every stored row of the shard by RowKey (a redelivered shard skips these)."""
        partition = result_partition(tenant_id, project_id, run_id, shard_id)
        rows: dict[str, ResultRecord] = {}
        cursor: str | None = None
        while True:
            page = self.table.list_partition(partition, page_size=1000, cursor=cursor)
            rows.update((row.row_key, row) for row in page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    def store_output(self, row: ResultRecord, output: str) -> ResultRecord:
        """Keep `output` in the row when small, else in a blob named after the row."""
        if len(output) <= MAX_INLINE_OUTPUT_CHARS:
            return row.model_copy(update={"output": output, "output_chars": len(output)})
        *scope, run_id, shard_id = row.partition_key.split("~")
        # Case ids may hold characters blob names refuse (`:`); the row keeps the name, so a digest will do.
        digest = hashlib.sha256(row.row_key.encode()).hexdigest()[:32]
        name = blob_path(*scope, run_id, shard_id, f"{digest}.txt")
        self.outputs.put(name, output.encode("utf-8"), content_type="text/plain; charset=utf-8", overwrite=True)
        return row.model_copy(update={"output": None, "output_blob": name, "output_chars": len(output)})

    def read_output(self, row: ResultRecord) -> str | None:
        """The full output of a row, wherever it is kept."""
        if row.output_blob:
            return self.outputs.get(row.output_blob).decode("utf-8")
        return row.output

    def write(self, rows: Iterable[ResultRecord]) -> int:
        """Upsert rows in per-partition transactions of at most 100; returns the transaction count."""
        return self.table.upsert_many(rows)

    def query(
        self,
        tenant_id: str,
        project_id: str,
        run_id: str,
        *,
        target_id: str | None = None,
        case_id: str | None = None,
        passed: bool | None = None,
        errors_only: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[ResultRecord]:
        """A page of the run's results, filtered; every value is a parameter, never spliced."""
        prefix = shard_partition(tenant_id, project_id, run_id) + "~" + (f"{target_id}-" if target_id else "")
        template: LiteralString = "PartitionKey ge @lo and PartitionKey lt @hi"
        params: dict[str, str | bool] = {"lo": prefix, "hi": next_code_point_prefix(prefix)}
        if case_id is not None:
            template += " and case_id eq @case"
            params["case"] = case_id
        if passed is not None:
            template += " and passed eq @passed"
            params["passed"] = passed
        if errors_only:
            template += " and status eq @status"
            params["status"] = ItemStatus.ERROR.value
        return self.table.query(where(template, **params), page_size=limit, cursor=cursor)

    def all_of_run(self, tenant_id: str, project_id: str, run_id: str) -> Iterator[ResultRecord]:
        """Every result of the run (for summaries and exports)."""
        cursor: str | None = None
        while True:
            page = self.query(tenant_id, project_id, run_id, limit=1000, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
