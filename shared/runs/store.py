"""Runs and their shards in Tables; shard messages on the queue.

The run row is written by the API (creation, cancel) and by whoever finishes the last shard
(completion, under an ETag guard so it happens once). Shard rows are written only by the worker
that holds the shard's message, so progress never contends on one hot row; the run's progress is
the sum of its shards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.clock import Clock
from shared.runs.models import RunRecord, RunStatus, ShardMessage, ShardRecord, ShardStatus
from shared.runs.sharding import ShardPlan, target_id
from shared.storage import ConcurrencyError, Conflict, ModelTable, Page, QueueSender, StorageAccount, StorageError
from shared.storage.catalog import RUN_COMPLETIONS_TABLE, RUN_SHARDS_QUEUE, RUN_SHARDS_TABLE, RUNS_TABLE
from shared.tenancy.records import scope_key
from shared.trends.models import RunCompletionRecord, completion_row_key
from shared.trends.work import RollupWork


def shard_partition(tenant_id: str, project_id: str, run_id: str) -> str:
    """The partition holding a run's shard rows."""
    return f"{scope_key(tenant_id, project_id)}~{run_id}"


@dataclass(frozen=True)
class Progress:
    """A run's progress, summed over its shards."""

    items_done: int
    items_total: int
    errors: int
    passed: int
    cost_usd: str
    shards_done: int
    shards_total: int


class RunStore:
    """Runs, shards and shard messages."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.runs = ModelTable(account, RUNS_TABLE, RunRecord)
        self.shards = ModelTable(account, RUN_SHARDS_TABLE, ShardRecord)
        self.queue = QueueSender(account, RUN_SHARDS_QUEUE)
        self.completions = ModelTable(account, RUN_COMPLETIONS_TABLE, RunCompletionRecord)
        self.rollup_work = RollupWork(account)
        self.clock = clock

    def ensure(self) -> None:
        """Create the tables and queues (idempotent)."""
        self.runs.ensure()
        self.shards.ensure()
        self.completions.ensure()
        self.rollup_work.ensure()
        self.queue.ensure()

    def create(self, run: RunRecord, plans: list[ShardPlan]) -> None:
        """Store the run and its shards, then enqueue one message per shard."""
        tenant_id, project_id = run.partition_key.split("~")
        partition = shard_partition(tenant_id, project_id, run.row_key)
        now = self.clock.now()
        self.shards.upsert_many(
            ShardRecord(
                partition_key=partition,
                row_key=plan.shard_id,
                target_id=target_id(plan.target_index),
                case_start=plan.case_start,
                case_end=plan.case_end,
                status=ShardStatus.PENDING,
                updated_at=now,
            )
            for plan in plans
        )
        self.runs.insert(run)
        try:
            self.enqueue(
                ShardMessage(tenant_id=tenant_id, project_id=project_id, run_id=run.row_key, shard_id=plan.shard_id)
                for plan in plans
            )
        except StorageError:
            # Shards that were never enqueued would leave the run running forever: end it now.
            failed = run.model_copy(
                update={"status": RunStatus.FAILED, "status_reason": "could not queue the run", "finished_at": now}
            )
            self.runs.upsert(failed)
            raise

    def enqueue(self, messages: Iterable[ShardMessage]) -> None:
        """Send shard messages, a few at a time (each send is one HTTP call)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self.queue.send, messages))

    def find(self, tenant_id: str, project_id: str, run_id: str) -> RunRecord | None:
        """The run, or None."""
        return self.runs.find(scope_key(tenant_id, project_id), run_id)

    def list_runs(self, tenant_id: str, project_id: str, *, limit: int, cursor: str | None) -> Page[RunRecord]:
        """A page of the project's runs (ids are random, so this is not time order)."""
        return self.runs.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    def shards_of(self, tenant_id: str, project_id: str, run_id: str) -> list[ShardRecord]:
        """Every shard row of the run."""
        partition = shard_partition(tenant_id, project_id, run_id)
        rows: list[ShardRecord] = []
        cursor: str | None = None
        while True:
            page = self.shards.list_partition(partition, page_size=1000, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    def progress(self, run: RunRecord, shards: list[ShardRecord]) -> Progress:
        """The run's progress from its shard rows."""
        return Progress(
            items_done=sum(s.done for s in shards),
            items_total=run.item_count,
            errors=sum(s.errors for s in shards),
            passed=sum(s.passed for s in shards),
            cost_usd=str(sum((Decimal(s.cost_usd) + Decimal(s.judge_cost_usd) for s in shards), Decimal(0))),
            shards_done=sum(1 for s in shards if s.status.terminal),
            shards_total=len(shards),
        )

    def save_shard(self, shard: ShardRecord) -> ShardRecord:
        """Write a shard row (only its worker does); returns it with the new ETag."""
        updated = shard.model_copy(update={"updated_at": self.clock.now()})
        etag = self.shards.upsert(updated)
        updated._etag = etag
        return updated

    def request_cancel(self, run: RunRecord) -> RunRecord:
        """Mark the run for cancellation; workers stop making provider calls within seconds."""
        if run.cancel_requested_at is not None or run.status.terminal:
            return run
        cancelled = run.model_copy(update={"cancel_requested_at": self.clock.now()})
        self.runs.table.upsert(
            {
                "PartitionKey": run.partition_key,
                "RowKey": run.row_key,
                "cancel_requested_at": cancelled.cancel_requested_at,
            },
            mode="merge",
        )
        return cancelled

    def finish_if_done(self, tenant_id: str, project_id: str, run_id: str) -> RunRecord | None:
        """If every shard is terminal, record the run's end exactly once; returns the run as stored."""
        for _ in range(5):
            run = self.find(tenant_id, project_id, run_id)
            if run is None:
                return None
            shards = self.shards_of(tenant_id, project_id, run_id)
            status, reason = final_status(run, shards)
            if status is None or run.status == status:
                return run
            now = self.clock.now()
            finished = run.model_copy(update={"status": status, "status_reason": reason, "finished_at": now})
            # The trends feed first: a crash after it leaves a completion the rollup skips (the run is not
            # terminal), a crash before it leaves the run unfinished, so no finished run is ever missed.
            self._record_completion(finished, status, now)
            try:
                self.runs.update(finished, etag=run.etag or "*")
                return finished
            except ConcurrencyError:
                continue  # someone else changed the run meanwhile: look again
        return self.find(tenant_id, project_id, run_id)

    def _record_completion(self, run: RunRecord, status: RunStatus, finished_at: datetime) -> None:
        """Append the run's end to `runcompletions` (a retried insert of the same row is a no-op),
        after marking the project in the rollup's to-do list."""
        tenant_id, project_id = run.partition_key.split("~")
        self.rollup_work.mark(tenant_id, project_id, finished_at)
        record = RunCompletionRecord(
            partition_key=run.partition_key,
            row_key=completion_row_key(finished_at, run.row_key),
            run_id=run.row_key,
            suite_id=run.suite_id,
            status=status,
            finished_at=finished_at,
        )
        with contextlib.suppress(Conflict):
            self.completions.insert(record)

    def mark_running(self, run: RunRecord) -> None:
        """Queued -> running, once (a lost race just means another worker did it)."""
        if run.status is not RunStatus.QUEUED:
            return
        with contextlib.suppress(ConcurrencyError):
            self.runs.update(run.model_copy(update={"status": RunStatus.RUNNING}), etag=run.etag or "*")

    def reopen(self, run: RunRecord, shards: list[ShardRecord]) -> RunRecord:
        """Retry-errors: the run and the given shards go back to running and are enqueued again."""
        now = self.clock.now()
        for shard in shards:
            self.shards.upsert(shard.model_copy(update={"status": ShardStatus.PENDING, "updated_at": now}))
        reopened = run.model_copy(update={"status": RunStatus.RUNNING, "status_reason": None, "finished_at": None})
        self.runs.update(reopened, etag=run.etag or "*")
        tenant_id, project_id = run.partition_key.split("~")
        self.enqueue(
            ShardMessage(
                tenant_id=tenant_id, project_id=project_id, run_id=run.row_key, shard_id=s.row_key, retry_errors=True
            )
            for s in shards
        )
        return reopened


def final_status(run: RunRecord, shards: list[ShardRecord]) -> tuple[RunStatus | None, str | None]:
    """The run's end status when every shard is terminal, else (None, None)."""
    if not shards or not all(s.status.terminal for s in shards):
        return None, None
    statuses = {s.status for s in shards}
    if run.cancel_requested_at is not None and ShardStatus.CANCELLED in statuses:
        return RunStatus.CANCELLED, "cancelled on request"
    if statuses == {ShardStatus.FAILED}:
        return RunStatus.FAILED, "every shard failed"
    if ShardStatus.FAILED in statuses:
        failed = sum(1 for s in shards if s.status is ShardStatus.FAILED)
        return RunStatus.PARTIAL, f"{failed} of {len(shards)} shard(s) failed"
    if ShardStatus.BUDGET_STOPPED in statuses:
        return RunStatus.PARTIAL, "budget exhausted"
    if ShardStatus.CANCELLED in statuses:
        return RunStatus.CANCELLED, "cancelled on request"
    return RunStatus.COMPLETED, None
