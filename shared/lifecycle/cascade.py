"""Cascade deletion: remove every row, blob and secret of a deleted tenant, project, run or suite.

The API makes the resource unreachable at once (its row is deleted, so it answers 404), writes a
tombstone in `deletions` and enqueues a `deletions` message. This job then runs the resource's
steps. Every step deletes what is *left* under the resource's key prefix, so a retry after a crash
(or a duplicate delivery) finishes the work; the tombstone records the steps done and the counts,
and at the end a `<kind>.purged` receipt with those counts goes to the project's audit trail,
which is kept on purpose: it is the evidence that the deletion happened.

A project or tenant may have shards running while its cascade passes: a worker checks at each flush
that its run still exists, but a flush whose check came just before the run row went can still land
after the results step. So these cascades run twice: the first pass notes `swept_at` and sends the
message again for `settle` later; the second pass deletes such stragglers and writes the receipt.
A tenant's receipt is its tombstone itself (`shared.lifecycle.tenant_purge`): the audit trail is the
tenant's, and goes with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from shared.clock import Clock
from shared.lifecycle.messages import DeletionKind, DeletionMessage
from shared.lifecycle.scopes import delete_blobs, delete_partitions, project_partition
from shared.lifecycle.tenant_purge import TenantPurge
from shared.secrets import SecretBackend
from shared.storage import BlobContainer, ModelTable, QueueSender, StorageAccount, Table, where
from shared.storage.catalog import (
    API_KEY_INDEX_TABLE,
    API_KEYS_TABLE,
    CREDENTIALS_TABLE,
    CURRENT_ROUTES_TABLE,
    DECISIONS_CONTAINER,
    DELETIONS_TABLE,
    DRIFT_EVENTS_TABLE,
    EXPORTS_TABLE,
    OUTPUTS_CONTAINER,
    PACKS_CONTAINER,
    PRICE_OVERRIDES_TABLE,
    PROVIDER_CALLS_TABLE,
    RESULTS_TABLE,
    ROLLUP_PARTS_TABLE,
    ROLLUP_WATERMARKS_TABLE,
    ROLLUP_WORK_TABLE,
    ROLLUPS_TABLE,
    ROUTE_DECISIONS_TABLE,
    RUN_COMPLETIONS_TABLE,
    RUN_SHARDS_TABLE,
    RUNS_TABLE,
    SCHEDULE_FIRINGS_TABLE,
    SCHEDULES_TABLE,
    SUITE_VERSIONS_TABLE,
    SUITES_CONTAINER,
    SUITES_TABLE,
)
from shared.tenancy.api_key_store import INDEX_ROW
from shared.tenancy.audit import Actor, AuditLog
from shared.tenancy.records import DeletionRecord
from shared.trends.rollup import Rollup

log = logging.getLogger("tokenroute.lifecycle")

SYSTEM_ACTOR = Actor(kind="system", id="lifecycle")

# How long after a first pass the second one runs: far longer than a flush takes from its check to
# its last write (one batch of at most 100 rows and the shard row).
SETTLE = timedelta(seconds=60)
# Cascades whose runs may have shards in flight (a run is deleted only once it has ended).
SETTLING: frozenset[DeletionKind] = frozenset({"project", "tenant"})
# Marks a tenant's cascade whose data is gone and whose tenant row is being removed.
CLOSING = "closing"

# Tables whose every row of a project sits under `<tenant>~<project>` (or `<tenant>~<project>~...`).
PROJECT_TABLES: tuple[str, ...] = (
    SCHEDULES_TABLE,
    SCHEDULE_FIRINGS_TABLE,
    API_KEYS_TABLE,
    CREDENTIALS_TABLE,
    PRICE_OVERRIDES_TABLE,
    SUITES_TABLE,
    SUITE_VERSIONS_TABLE,
    RUNS_TABLE,
    RUN_SHARDS_TABLE,
    RESULTS_TABLE,
    ROUTE_DECISIONS_TABLE,
    CURRENT_ROUTES_TABLE,
    EXPORTS_TABLE,
    DRIFT_EVENTS_TABLE,
    RUN_COMPLETIONS_TABLE,
    ROLLUP_PARTS_TABLE,
    ROLLUPS_TABLE,
    ROLLUP_WATERMARKS_TABLE,
    PROVIDER_CALLS_TABLE,
)
# Containers whose blobs of a project sit under `<tenant>/<project>/`.
PROJECT_CONTAINERS: tuple[str, ...] = (SUITES_CONTAINER, OUTPUTS_CONTAINER, DECISIONS_CONTAINER, PACKS_CONTAINER)


@dataclass(frozen=True)
class Target:
    """What one cascade deletes: a project, a run or suite of a project, or (by its id alone) a tenant."""

    tenant_id: str
    project_id: str
    resource_id: str


@dataclass(frozen=True)
class Step:
    """One idempotent part of a cascade: `run(target)` returns how many things it deleted."""

    name: str
    run: Callable[[Target], int]


class Purger:
    """Runs the cascade of one tombstone; safe to call any number of times."""

    def __init__(
        self,
        account: StorageAccount,
        secrets: SecretBackend,
        audit: AuditLog,
        clock: Clock,
        queue: QueueSender,
        settle: timedelta = SETTLE,
    ) -> None:
        self.secrets = secrets
        self.audit = audit
        self.clock = clock
        self.queue = queue
        self.settle = settle
        self.deletions = ModelTable(account, DELETIONS_TABLE, DeletionRecord)
        self.key_index = Table(account, API_KEY_INDEX_TABLE)
        self.tables = {name: Table(account, name) for name in PROJECT_TABLES}
        self.containers = {name: BlobContainer(account, name) for name in PROJECT_CONTAINERS}
        self.tenant = TenantPurge(account, secrets, clock, self.tables, self.containers)
        self.rollup = Rollup(account, clock)
        # Lists, not tuples: tests insert a step that fails, to prove a retry finishes the work.
        self.steps: dict[DeletionKind, list[Step]] = {
            "project": self._project_steps(),
            "run": self._run_steps(),
            "suite": self._suite_steps(),
            "tenant": [Step(name, _of_tenant(run)) for name, run in self.tenant.steps()],
        }

    def ensure(self) -> None:
        """Create the tombstone table (idempotent; the other tables belong to their stores)."""
        self.deletions.ensure()

    # -- steps ------------------------------------------------------------------------------------

    def _project_steps(self) -> list[Step]:
        # The key index first: its rows are found through the API key rows deleted next.
        steps = [Step(f"table:{API_KEY_INDEX_TABLE}", self._delete_key_index)]
        for name, table in self.tables.items():
            steps.append(
                Step(f"table:{name}", _partitions(table, lambda t: project_partition(t.tenant_id, t.project_id)))
            )
        for name, container in self.containers.items():
            steps.append(Step(f"blobs:{name}", _blobs(container, lambda t: (t.tenant_id, t.project_id))))
        steps.append(Step("secrets", lambda t: self.secrets.delete_scope(t.tenant_id, t.project_id)))
        # Keyed by hour, not by project: searched for the project's id instead.
        steps.append(
            Step(f"table:{ROLLUP_WORK_TABLE}", lambda t: self.rollup.work.forget_project(t.tenant_id, t.project_id))
        )
        return steps

    def _run_steps(self) -> list[Step]:
        def run_partition(t: Target) -> str:
            return f"{project_partition(t.tenant_id, t.project_id)}~{t.resource_id}"

        return [
            Step(f"table:{RUN_SHARDS_TABLE}", _partitions(self.tables[RUN_SHARDS_TABLE], run_partition)),
            Step(f"table:{RESULTS_TABLE}", _partitions(self.tables[RESULTS_TABLE], run_partition)),
            Step(
                f"blobs:{OUTPUTS_CONTAINER}",
                _blobs(self.containers[OUTPUTS_CONTAINER], lambda t: (t.tenant_id, t.project_id, t.resource_id)),
            ),
            # The run's trend parts sit in its suite's series; the next rollup removes them and
            # recomputes the points they fed (counted there, so this step deletes nothing itself).
            Step("trends", self._forget_in_trends),
        ]

    def _forget_in_trends(self, target: Target) -> int:
        self.rollup.record_deletion(target.tenant_id, target.project_id, target.resource_id)
        return 0

    def _suite_steps(self) -> list[Step]:
        def suite_partition(t: Target) -> str:
            return f"{project_partition(t.tenant_id, t.project_id)}~{t.resource_id}"

        return [
            Step(f"table:{SCHEDULES_TABLE}", self._delete_suite_schedules),
            Step(f"table:{SUITE_VERSIONS_TABLE}", _partitions(self.tables[SUITE_VERSIONS_TABLE], suite_partition)),
            Step(
                f"blobs:{SUITES_CONTAINER}",
                _blobs(self.containers[SUITES_CONTAINER], lambda t: (t.tenant_id, t.project_id, t.resource_id)),
            ),
        ]

    def _delete_suite_schedules(self, target: Target) -> int:
        """The suite's schedules, each with its firing rows (first: they are found through the schedule)."""
        partition = project_partition(target.tenant_id, target.project_id)
        query = where("PartitionKey eq @pk and suite_id eq @suite", pk=partition, suite=target.resource_id)
        count = 0
        for schedule in self.tables[SCHEDULES_TABLE].query_all(query, select=["RowKey"]):
            delete_partitions(self.tables[SCHEDULE_FIRINGS_TABLE], f"{partition}~{schedule.row_key}")
            self.tables[SCHEDULES_TABLE].delete(partition, schedule.row_key)
            count += 1
        return count

    def _delete_key_index(self, target: Target) -> int:
        """The index rows are keyed by key id alone; the project's key rows name them."""
        partition = where("PartitionKey eq @pk", pk=project_partition(target.tenant_id, target.project_id))
        count = 0
        for key in self.tables[API_KEYS_TABLE].query_all(partition, select=["RowKey"]):
            pointer = self.key_index.find(key.row_key, INDEX_ROW)
            # Only an index row that points back to this project is ours to delete.
            if pointer is not None and (pointer.get("tenant_id"), pointer.get("project_id")) == (
                target.tenant_id,
                target.project_id,
            ):
                self.key_index.delete(key.row_key, INDEX_ROW)
                count += 1
        return count

    # -- tombstones -------------------------------------------------------------------------------

    def tombstone(
        self, tenant_id: str, project_id: str, kind: DeletionKind, resource_id: str, name: str, requested_by: str
    ) -> DeletionRecord:
        """Record that a run or suite is to be deleted (before its row goes, so no work is forgotten)."""
        record = DeletionRecord(
            partition_key=tenant_id,
            row_key=resource_id,
            kind=kind,
            project_id=project_id,
            name=name,
            requested_at=self.clock.now(),
            requested_by=requested_by,
        )
        self.deletions.upsert(record)
        return record

    def pending(self, since: datetime, until: datetime) -> list[DeletionMessage]:
        """Messages for tombstones requested between `since` and `until` whose cascade is not completed.

        A timer re-sends them: a message lost between the tombstone and the queue (or one that went
        to the poison queue) would otherwise leave the data in place with nobody to finish it.
        `until` leaves recent tombstones to their own message, so two runs rarely overlap.
        """
        query = where("requested_at ge @since and requested_at lt @until", since=since, until=until)
        messages: list[DeletionMessage] = []
        cursor: str | None = None
        while True:
            page = self.deletions.query(query, page_size=1000, cursor=cursor)
            for row in page.items:
                if row.completed_at is None and row.kind in ("project", "run", "suite", "tenant"):
                    kind = cast(DeletionKind, row.kind)
                    messages.append(
                        DeletionMessage(
                            tenant_id=row.partition_key,
                            resource_id=row.row_key,
                            kind=kind,
                            project_id=row.project_id if kind in ("run", "suite") else None,
                        )
                    )
            if page.next_cursor is None:
                return messages
            cursor = page.next_cursor

    def handle(self, message: DeletionMessage) -> DeletionRecord | None:
        """Run (or finish) the cascade of the message's tombstone; returns the tombstone, None if absent."""
        tombstone = self.deletions.find(message.tenant_id, message.resource_id)
        if tombstone is None or tombstone.kind != message.kind:
            log.warning("no %s tombstone for a deletion message; dropped", message.kind)
            return None
        if tombstone.completed_at is not None:
            return tombstone  # a duplicate delivery: the receipt is already written
        started = self.clock.now()
        target = Target(message.tenant_id, message.project, message.resource_id)
        if CLOSING not in tombstone.steps_done:
            for step in self.steps[message.kind]:
                deleted = step.run(target)
                # Counts add up over attempts: each attempt deletes only what the previous one left.
                counts = {**tombstone.counts, step.name: tombstone.counts.get(step.name, 0) + deleted}
                done = tombstone.steps_done if step.name in tombstone.steps_done else [*tombstone.steps_done, step.name]
                tombstone = tombstone.model_copy(update={"counts": counts, "steps_done": done})
                self.deletions.upsert(tombstone)
        if message.kind in SETTLING and not self._settled(tombstone, started):
            return self._sweep_again_later(message, tombstone)
        if message.kind == "tenant":
            return self._close_tenant(target, tombstone)
        self.audit.record(
            target.tenant_id,
            target.project_id,
            SYSTEM_ACTOR,
            f"{message.kind}.purged",
            message.kind,
            message.resource_id,
            {
                "counts": tombstone.counts,
                "requested_at": tombstone.requested_at.isoformat(),
                "requested_by": tombstone.requested_by,
            },
        )
        tombstone = tombstone.model_copy(update={"completed_at": self.clock.now()})
        self.deletions.upsert(tombstone)
        return tombstone

    def _settled(self, tombstone: DeletionRecord, started: datetime) -> bool:
        """True when this pass began at least `settle` after a first pass ended."""
        return tombstone.swept_at is not None and started >= tombstone.swept_at + self.settle

    def _sweep_again_later(self, message: DeletionMessage, tombstone: DeletionRecord) -> DeletionRecord:
        """After the first pass: note its end and send the message again for the second one."""
        if tombstone.swept_at is not None:
            return tombstone  # a duplicate delivery before the second pass: that one is already queued
        tombstone = tombstone.model_copy(update={"swept_at": self.clock.now()})
        self.deletions.upsert(tombstone)
        # If this send is lost, the hourly resend timer finds the tombstone still incomplete.
        self.queue.send(message, delay_seconds=max(1, math.ceil(self.settle.total_seconds())))
        return tombstone

    def _close_tenant(self, target: Target, tombstone: DeletionRecord) -> DeletionRecord:
        """Remove the tenant row (after a marker, so a retry never sweeps a tenant created since) and complete."""
        if CLOSING not in tombstone.steps_done:
            tombstone = tombstone.model_copy(update={"steps_done": [*tombstone.steps_done, CLOSING]})
            self.deletions.upsert(tombstone)
        closed = self.tenant.close(target.tenant_id)
        counts = {**tombstone.counts, "table:tenants": tombstone.counts.get("table:tenants", 0) + closed}
        tombstone = tombstone.model_copy(update={"counts": counts, "completed_at": self.clock.now()})
        self.deletions.upsert(tombstone)
        log.info("tenant deletion %s completed", tombstone.row_key)
        return tombstone


def _of_tenant(run: Callable[[str], int]) -> Callable[[Target], int]:
    """A tenant step as a cascade step (a tenant's target names only the tenant)."""
    return lambda target: run(target.tenant_id)


def _partitions(table: Table, partition: Callable[[Target], str]) -> Callable[[Target], int]:
    """A step deleting the target's partition (and its `~` children) in one table."""
    return lambda target: delete_partitions(table, partition(target))


def _blobs(container: BlobContainer, segments: Callable[[Target], tuple[str, ...]]) -> Callable[[Target], int]:
    """A step deleting the target's blobs (everything under its path) in one container."""
    return lambda target: delete_blobs(container, *segments(target))
