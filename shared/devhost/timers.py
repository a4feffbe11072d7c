"""Run one timer-triggered function on its schedule, as the Functions host does (without its blob lock).

Occurrences are computed in UTC. Like the host, a timer never overlaps itself: the next occurrence
is computed after the previous invocation ends, so occurrences missed while it ran are skipped.
`past_due` is true when the invocation starts noticeably later than its scheduled time (the loop
was busy, or the machine slept). `runOnStartup` runs the function once when the host starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from shared.devhost.functions import FunctionSpec, InvocationContext, Invoker
from shared.schedules.ncrontab import Schedule

log = logging.getLogger("tokenroute.devhost.timers")

# Firing later than this after the scheduled time counts as past due.
PAST_DUE_TOLERANCE = timedelta(seconds=1)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class TimerRunner:
    """Fires `spec` on `schedule` until `stop` is set; `run` returns after the current invocation."""

    def __init__(
        self,
        spec: FunctionSpec,
        schedule: Schedule,
        invoker: Invoker,
        *,
        run_on_startup: bool = False,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.spec = spec
        self.schedule = schedule
        self.invoker = invoker
        self.run_on_startup = run_on_startup
        self.clock = clock
        self.last: datetime | None = None

    def next_occurrence(self) -> datetime:
        """When the timer fires next, counted from now."""
        return self.schedule.next_after(self.clock())

    async def run(self, stop: asyncio.Event) -> None:
        """Sleep until each occurrence and invoke the function, until `stop` is set."""
        if self.run_on_startup and not stop.is_set():
            await self._fire(self.clock(), past_due=False)
        while not stop.is_set():
            due = self.schedule.next_after(self.clock())
            # Sleep in steps of at most a minute: wall-clock time may jump (sleep, NTP) while we wait.
            while not stop.is_set() and (remaining := (due - self.clock()).total_seconds()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(remaining, 60.0))
            if stop.is_set():
                break
            await self._fire(due, past_due=self.clock() - due > PAST_DUE_TOLERANCE)

    async def _fire(self, due: datetime, *, past_due: bool) -> None:
        following = self.schedule.next_after(max(due, self.clock()))
        status = {
            "Last": (self.last or due).isoformat(),
            "Next": following.isoformat(),
            "LastUpdated": self.clock().isoformat(),
        }
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": False})
        context = InvocationContext(self.spec.name, self.spec.directory)
        if past_due:
            log.warning("timer %s is past due (scheduled %s)", self.spec.name, due.isoformat())
        # The invoker has logged a failure; a failed run must not stop the timer.
        with contextlib.suppress(Exception):
            await self.invoker.invoke(self.spec, request, context, reason=f"Timer fired at {self.clock().isoformat()}")
        self.last = due
