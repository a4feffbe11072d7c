"""The exports table and the packs container.

A pack's blob is `<tenant>/<project>/<export id>.zip`: the tenant and project scope it, and the export
id (100 random bits) makes it unguessable; the container is private, so a name alone reads nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from shared.clock import Clock
from shared.exports.models import ExportKind, ExportMessage, ExportRecord, ExportStatus
from shared.ids import new_id
from shared.storage import (
    BlobContainer,
    ConcurrencyError,
    Filter,
    ModelTable,
    QueueSender,
    StorageAccount,
    blob_path,
    where,
)
from shared.storage.catalog import EXPORTS_QUEUE, EXPORTS_TABLE, PACKS_CONTAINER
from shared.tenancy.records import scope_key

EXPORT_PREFIX = "exp"


class ExportStore:
    """Export rows, their packs and their queue."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, EXPORTS_TABLE, ExportRecord)
        self.packs = BlobContainer(account, PACKS_CONTAINER)
        self.queue = QueueSender(account, EXPORTS_QUEUE)
        self.clock = clock

    def ensure(self) -> None:
        """Create the table, container and queue (idempotent)."""
        self.table.ensure()
        self.packs.ensure()
        self.queue.ensure()

    def create(
        self, tenant_id: str, project_id: str, kind: ExportKind, subject_id: str, created_by: str
    ) -> ExportRecord:
        """Store a queued export and enqueue its message (ids only)."""
        export_id = new_id(EXPORT_PREFIX)
        record = ExportRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=export_id,
            kind=kind,
            subject_id=subject_id,
            status=ExportStatus.QUEUED,
            blob=blob_path(tenant_id, project_id, f"{export_id}.zip"),
            created_at=self.clock.now(),
            created_by=created_by,
        )
        self.table.insert(record)
        message = ExportMessage(tenant_id=tenant_id, project_id=project_id, export_id=export_id)
        self.queue.send(message)
        return record

    def find(self, tenant_id: str, project_id: str, export_id: str) -> ExportRecord | None:
        """The export, or None (also for another tenant's or project's id)."""
        return self.table.find(scope_key(tenant_id, project_id), export_id)

    def transition(self, record: ExportRecord, **changes: object) -> ExportRecord | None:
        """Rewrite the row under its ETag; None when another delivery changed it first."""
        updated = record.model_copy(update=changes)
        try:
            etag = self.table.update(updated, record.etag or "*")
        except ConcurrencyError:
            return None
        updated._etag = etag
        return updated

    def ready_before(self, cutoff: datetime) -> Iterator[ExportRecord]:
        """Ready exports of every tenant whose pack was finished before `cutoff` (the lifetime sweep)."""
        # A system job's one query across tenants: it reads status and times, not anyone's data.
        return self._all(
            where("status eq @ready and ready_at lt @cutoff", ready=ExportStatus.READY.value, cutoff=cutoff)
        )

    def created_before(self, tenant_id: str, project_id: str, cutoff: datetime) -> Iterator[ExportRecord]:
        """The project's exports, not yet expired, created before `cutoff` (the retention sweep)."""
        return self._all(
            where(
                "PartitionKey eq @pk and created_at lt @cutoff and status ne @expired",
                pk=scope_key(tenant_id, project_id),
                cutoff=cutoff,
                expired=ExportStatus.EXPIRED.value,
            )
        )

    def _all(self, condition: Filter) -> Iterator[ExportRecord]:
        cursor: str | None = None
        while True:
            page = self.table.query(condition, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def expire(self, record: ExportRecord) -> ExportRecord | None:
        """Delete the pack, then mark the row `expired` (kept: it holds no results, and says what happened).

        The blob goes first, so a failure in between leaves a row a later sweep expires again; a row
        changed meanwhile is read again once. None: the export was deleted meanwhile."""
        self.packs.delete(record.blob)
        current: ExportRecord | None = record
        for _ in range(2):
            if current is None or current.status is ExportStatus.EXPIRED:
                return current
            updated = self.transition(current, status=ExportStatus.EXPIRED, expired_at=self.clock.now())
            if updated is not None:
                return updated
            current = self.table.find(record.partition_key, record.row_key)
        return current

    def now(self) -> datetime:
        """The store's clock (so the builder and tests agree on time)."""
        return self.clock.now()
