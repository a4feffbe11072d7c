"""Starting due schedules exactly once: what the every-minute timer does.

Per due schedule, the occurrences from its `next_due_at` up to now are due. Only the latest starts a
run; earlier ones (the timer was late, the host was down) are recorded as skipped, so downtime never
turns into a burst. An occurrence is claimed by *inserting* its firing row: a second invocation (the
timer fired twice, two hosts) gets a conflict and leaves it alone. The claim carries the run id, so
a claim left behind by a crash is finished later with that same id: the run is found if it was
started, otherwise started now, never twice. Then the schedule's `next_due_at` moves on under its
ETag.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.ids import newest_first_id
from shared.pricing.table import PriceTable
from shared.runs.launch import BudgetExceeded, Launcher
from shared.runs.planning import PlanError
from shared.schedules.models import FiringRecord, FiringStatus, ScheduleRecord, occurrence_key
from shared.schedules.ncrontab import CronSchedule
from shared.schedules.store import ScheduleStore, firing_partition
from shared.storage import ConcurrencyError, Conflict, NotFound

log = logging.getLogger("tokenroute.schedules")

# A claim younger than this may still be launching in another invocation; older, it was abandoned.
CLAIM_LEASE = timedelta(minutes=2)
# Missed occurrences get a skipped row each, up to this many (a long outage leaves no flood of rows).
MAX_MISSED_ROWS = 100
# Walking a sparse schedule's occurrences over a long outage stops here; the rest count as missed.
_MAX_OCCURRENCES = 100_000


@dataclass(frozen=True)
class ScheduleFirer:
    """Fires due schedules; `fire_due` is safe to call any number of times, concurrently too."""

    schedules: ScheduleStore
    launcher: Launcher
    prices: Callable[[str, str], PriceTable]
    project_exists: Callable[[str, str], bool]
    clock: Clock

    def fire_due(self) -> list[FiringRecord]:
        """Fire every due schedule of every tenant; returns the firings this call settled."""
        now = self.clock.now()
        settled: list[FiringRecord] = []
        for schedule in list(self.schedules.due(now)):
            try:
                firing = self.fire(schedule, now)
            except Exception:
                # One schedule's trouble must not stop the others; an unfinished claim is finished on a
                # later tick. The log names the schedule and the error type only (no tenant data).
                log.exception("schedule %s could not fire", schedule.row_key)
                continue
            if firing is not None:
                settled.append(firing)
        return settled

    def fire(self, schedule: ScheduleRecord, now: datetime) -> FiringRecord | None:
        """Settle the schedule's latest due occurrence (skipping earlier ones) and move it on.

        Returns None when another invocation holds the occurrence right now."""
        due = _occurrences(schedule, now)
        latest = due[-1]
        for missed in due[:-1]:
            self._skip_missed(schedule, missed, now)
        firing = self._settle(schedule, latest, now)
        if firing is not None:
            self._advance(schedule, latest, firing, now)
        return firing

    # -- one occurrence -------------------------------------------------------------------------------

    def _settle(self, schedule: ScheduleRecord, occurrence: datetime, now: datetime) -> FiringRecord | None:
        tenant_id, project_id = schedule.partition_key.split("~")
        claim = FiringRecord(
            partition_key=firing_partition(tenant_id, project_id, schedule.row_key),
            row_key=occurrence_key(occurrence),
            status=FiringStatus.CLAIMED,
            run_id=newest_first_id("run", now),
            claimed_at=now,
            updated_at=now,
        )
        try:
            claim._etag = self.schedules.firings.insert(claim)
        except Conflict:
            taken = self._take_over(claim.partition_key, claim.row_key, now)
            if taken is None or taken.status is not FiringStatus.CLAIMED:
                return taken
            if self._started(tenant_id, project_id, taken):
                return self._finish(taken, FiringStatus.STARTED, now)  # launched just before a crash
            claim = taken
        return self._launch(schedule, claim, now)

    def _started(self, tenant_id: str, project_id: str, claim: FiringRecord) -> bool:
        """True when the claim's run exists: its holder started it and stopped before saying so."""
        return claim.run_id is not None and self.launcher.runs.find(tenant_id, project_id, claim.run_id) is not None

    def _take_over(self, partition: str, row: str, now: datetime) -> FiringRecord | None:
        """The existing firing row: settled (returned as is), or an abandoned claim now ours (None if not)."""
        existing = self.schedules.firings.find(partition, row)
        if existing is None or existing.status is not FiringStatus.CLAIMED:
            return existing
        if now - existing.claimed_at < CLAIM_LEASE:
            return None  # another invocation is starting it now
        renewed = existing.model_copy(update={"claimed_at": now, "updated_at": now})
        try:
            renewed._etag = self.schedules.firings.update(renewed, existing.etag or "*")
        except ConcurrencyError:
            return None  # someone else took it over first
        return renewed

    def _launch(self, schedule: ScheduleRecord, claim: FiringRecord, now: datetime) -> FiringRecord:
        tenant_id, project_id = schedule.partition_key.split("~")
        if not self.project_exists(tenant_id, project_id):
            return self._finish(claim, FiringStatus.FAILED, now, reason="the project was deleted")
        if schedule.last_run_id is not None:
            previous = self.launcher.runs.find(tenant_id, project_id, schedule.last_run_id)
            if previous is not None and not previous.status.terminal:
                return self._finish(claim, FiringStatus.SKIPPED, now, reason="previous run still going")
        try:
            _, estimate = self.launcher.start(
                tenant_id,
                project_id,
                schedule.run_request(),
                schedule.row_key,
                self.prices(tenant_id, project_id),
                run_id=claim.run_id,
                schedule_id=schedule.row_key,
            )
        except BudgetExceeded as refused:
            return self._finish(
                claim, FiringStatus.REFUSED, now, reason=str(refused), estimate=str(refused.estimate.total_usd)
            )
        except PlanError as error:
            return self._finish(claim, FiringStatus.FAILED, now, reason=f"{error.path}: {error.message}")
        except NotFound:
            return self._finish(claim, FiringStatus.FAILED, now, reason="the suite version no longer exists")
        return self._finish(claim, FiringStatus.STARTED, now, estimate=str(estimate.total_usd))

    def _finish(
        self,
        claim: FiringRecord,
        status: FiringStatus,
        now: datetime,
        *,
        reason: str | None = None,
        estimate: str | None = None,
    ) -> FiringRecord:
        """Record the outcome on the claim (only its holder writes it, so no guard is needed)."""
        settled = claim.model_copy(
            update={
                "status": status,
                "run_id": claim.run_id if status is FiringStatus.STARTED else None,
                "reason": reason,
                "estimate_usd": estimate,
                "updated_at": now,
            }
        )
        settled._etag = self.schedules.firings.upsert(settled)
        return settled

    def _skip_missed(self, schedule: ScheduleRecord, occurrence: datetime, now: datetime) -> None:
        """Record a missed occurrence as skipped; an abandoned claim on it is settled too, never launched."""
        tenant_id, project_id = schedule.partition_key.split("~")
        row = FiringRecord(
            partition_key=firing_partition(tenant_id, project_id, schedule.row_key),
            row_key=occurrence_key(occurrence),
            status=FiringStatus.SKIPPED,
            reason="missed: a later occurrence was due by the time the timer ran",
            claimed_at=now,
            updated_at=now,
        )
        try:
            self.schedules.firings.insert(row)
        except Conflict:
            taken = self._take_over(row.partition_key, row.row_key, now)
            if taken is None or taken.status is not FiringStatus.CLAIMED:
                return
            if self._started(tenant_id, project_id, taken):
                self._finish(taken, FiringStatus.STARTED, now)
            else:
                self._finish(taken, FiringStatus.SKIPPED, now, reason=row.reason)

    # -- the schedule ---------------------------------------------------------------------------------

    def _advance(self, schedule: ScheduleRecord, occurrence: datetime, firing: FiringRecord, now: datetime) -> None:
        """Record the outcome on the schedule and move `next_due_at` past now, under its ETag."""
        current: ScheduleRecord | None = schedule
        for _ in range(5):
            if current is None:
                return  # deleted meanwhile
            changes: dict[str, object] = {}
            if current.next_due_at <= occurrence:
                # The row as read now: if a PATCH changed the expression meanwhile, the new one decides.
                changes["next_due_at"] = CronSchedule.parse(current.cron).next_after(now)
            if current.last_fired_at is None or current.last_fired_at <= occurrence:
                changes.update(last_fired_at=occurrence, last_outcome=firing.status, last_outcome_reason=firing.reason)
                if firing.status is FiringStatus.STARTED:
                    changes["last_run_id"] = firing.run_id
            if all(getattr(current, name) == value for name, value in changes.items()):
                return
            try:
                self.schedules.save(current.model_copy(update=changes))
                return
            except ConcurrencyError:
                current = self.schedules.schedules.find(schedule.partition_key, schedule.row_key)
        log.warning("schedule %s kept changing; its next due time moves on the next tick", schedule.row_key)


def _occurrences(schedule: ScheduleRecord, now: datetime) -> list[datetime]:
    """The last occurrences from `next_due_at` up to `now`: the latest and up to `MAX_MISSED_ROWS` before it."""
    # The stored expression was checked when it was written; parse it as the host would.
    cron = CronSchedule.parse(schedule.cron)
    due: deque[datetime] = deque([schedule.next_due_at], maxlen=MAX_MISSED_ROWS + 1)
    for _ in range(_MAX_OCCURRENCES):
        following = cron.next_after(due[-1])
        if following > now:
            break
        due.append(following)
    return list(due)
