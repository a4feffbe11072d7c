"""Scheduled benchmarks: every minute, start the due schedules' runs, each occurrence once.

Thin: the work (claims, missed occurrences, budgets) is `shared.schedules.firing.ScheduleFirer`.
A late or past-due invocation needs nothing special: the firer sees every occurrence missed since
each schedule's `next_due_at`, starts one run for the latest and records the others as skipped.
"""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func

from shared.services import Services

log = logging.getLogger("tokenroute.jobs")

# Every minute at second 0 (six-field NCRONTAB: seconds first); schedules fire at most every 15 minutes.
SCHEDULES_SCHEDULE = "0 * * * * *"


def schedule_blueprint(services: Services) -> func.Blueprint:
    """The schedule timer, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("fire_schedules")
    @blueprint.timer_trigger(arg_name="timer", schedule=SCHEDULES_SCHEDULE)
    async def fire_schedules(timer: func.TimerRequest) -> None:
        if timer.past_due:
            log.warning("schedule timer past due: missed occurrences are skipped, the latest of each runs")
        # Storage calls are synchronous; keep them off the host's event loop.
        await asyncio.to_thread(services.schedule_firer.fire_due)

    return blueprint
