"""A timer function that fires every second and records whether the host called it past due."""

from __future__ import annotations

import azure.functions as func

from tests.devhost.apps._record import record

app = func.FunctionApp()


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    """Record each firing."""
    record("tick", past_due=timer.past_due)
