"""Trends: every five minutes, roll newly finished runs into the projects' hourly and daily series.

Thin: the work is `shared.trends.rollup.Rollup.run_all`. A late or past-due invocation needs nothing
special: each project's watermark says where its last rollup stopped, so a missed tick is caught up
by the next one.
"""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func

from shared.services import Services

log = logging.getLogger("tokenroute.jobs")

# Every five minutes at second 0 (six-field NCRONTAB: seconds first).
ROLLUP_SCHEDULE = "0 */5 * * * *"


def trends_blueprint(services: Services) -> func.Blueprint:
    """The rollup timer, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("roll_up_trends")
    @blueprint.timer_trigger(arg_name="timer", schedule=ROLLUP_SCHEDULE)
    async def roll_up_trends(timer: func.TimerRequest) -> None:
        if timer.past_due:
            log.info("rollup timer past due: the watermarks pick up where the last rollup stopped")
        # Storage calls are synchronous; keep them off the host's event loop.
        reports = await asyncio.to_thread(services.rollup.run_all)
        log.info("rolled up %d project(s)", len(reports))

    return blueprint
