"""The `schedules` and `schedulefirings` tables.

A schedule row is written by the API (create, change, delete) and by the timer (when it fired, what
became of it, when it is due next), each under the ETag it read. A firing row exists once per
schedule and due time: inserting it is how one timer invocation claims that due time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from shared.clock import Clock
from shared.ids import new_id
from shared.lifecycle.scopes import delete_partitions
from shared.schedules.cron import parse_cron
from shared.schedules.models import (
    SCHEDULE_PREFIX,
    FiringRecord,
    ScheduleCreate,
    ScheduleRecord,
    ScheduleUpdate,
)
from shared.storage import ModelTable, Page, StorageAccount, where
from shared.storage.catalog import SCHEDULE_FIRINGS_TABLE, SCHEDULES_TABLE
from shared.tenancy.records import scope_key


def firing_partition(tenant_id: str, project_id: str, schedule_id: str) -> str:
    """The partition holding a schedule's firing rows."""
    return f"{scope_key(tenant_id, project_id)}~{schedule_id}"


class ScheduleStore:
    """Schedules and their firings."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.schedules = ModelTable(account, SCHEDULES_TABLE, ScheduleRecord)
        self.firings = ModelTable(account, SCHEDULE_FIRINGS_TABLE, FiringRecord)
        self.clock = clock

    def ensure(self) -> None:
        """Create the tables (idempotent)."""
        self.schedules.ensure()
        self.firings.ensure()

    def create(self, tenant_id: str, project_id: str, request: ScheduleCreate, created_by: str) -> ScheduleRecord:
        """Store a new schedule, first due at its next occurrence from now."""
        now = self.clock.now()
        record = ScheduleRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=new_id(SCHEDULE_PREFIX),
            name=request.name,
            suite_id=request.suite_id,
            version=request.version,
            targets=request.targets,
            trials=request.trials,
            concurrency=request.concurrency,
            budget_usd=str(request.budget_usd),
            cron=request.cron,
            paused=request.paused,
            next_due_at=parse_cron(request.cron).next_after(now),
            created_at=now,
            created_by=created_by,
            updated_at=now,
            updated_by=created_by,
        )
        record._etag = self.schedules.insert(record)
        return record

    def find(self, tenant_id: str, project_id: str, schedule_id: str) -> ScheduleRecord | None:
        """The schedule, or None (also for another tenant's or project's id)."""
        return self.schedules.find(scope_key(tenant_id, project_id), schedule_id)

    def list_schedules(
        self, tenant_id: str, project_id: str, *, limit: int, cursor: str | None
    ) -> Page[ScheduleRecord]:
        """A page of the project's schedules."""
        return self.schedules.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    def changed(
        self, record: ScheduleRecord, update: ScheduleUpdate, updated_by: str
    ) -> tuple[ScheduleRecord, list[str]]:
        """The schedule with `update` applied (not saved) and the names of the fields that changed.

        A new expression, or resuming a paused schedule, counts from now: the occurrences it missed
        while paused are not owed.
        """
        now = self.clock.now()
        values = update.model_dump(exclude_unset=True, exclude_none=True)
        if "budget_usd" in values:
            values["budget_usd"] = str(values["budget_usd"])
        if "targets" in values:
            values["targets"] = update.targets
        fields = [name for name, value in values.items() if getattr(record, name) != value]
        changes: dict[str, object] = {name: values[name] for name in fields}
        if "cron" in fields or ("paused" in fields and not values["paused"]):
            changes["next_due_at"] = parse_cron(str(values.get("cron", record.cron))).next_after(now)
        if fields:
            changes.update(updated_at=now, updated_by=updated_by)
        return record.model_copy(update=changes), fields

    def save(self, record: ScheduleRecord) -> ScheduleRecord:
        """Rewrite the row under the ETag it was read with (`ConcurrencyError` if it changed); returns it re-tagged."""
        etag = self.schedules.update(record, record.etag or "*")
        saved = record.model_copy()
        saved._etag = etag
        return saved

    def delete(self, record: ScheduleRecord) -> None:
        """Delete the schedule and its firing rows (firings first: they are found through the schedule)."""
        delete_partitions(self.firings.table, f"{record.partition_key}~{record.row_key}")
        self.schedules.delete(record.partition_key, record.row_key)

    def due(self, now: datetime) -> Iterator[ScheduleRecord]:
        """Every unpaused schedule of every tenant due at `now`."""
        # The one query across tenants: a system job reading when schedules are due, as retention does.
        query = where("next_due_at le @now and paused eq @paused", now=now, paused=False)
        cursor: str | None = None
        while True:
            page = self.schedules.query(query, page_size=1000, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def firings_of(self, tenant_id: str, project_id: str, schedule_id: str) -> list[FiringRecord]:
        """Every firing row of the schedule, oldest due time first."""
        partition = firing_partition(tenant_id, project_id, schedule_id)
        rows: list[FiringRecord] = []
        cursor: str | None = None
        while True:
            page = self.firings.list_partition(partition, page_size=1000, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor
