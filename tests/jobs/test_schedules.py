"""The schedule timer as the Functions host calls it: the blueprint's function, registered on an app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import azure.functions as func
from azure.functions.timer import TimerRequest

from shared.jobs.schedules import SCHEDULES_SCHEDULE, schedule_blueprint
from shared.runs.models import RunStatus
from shared.schedules.models import FiringStatus
from shared.services import Services
from tests.conftest import MovableClock
from tests.schedules.seed import firings_of, new_project, new_schedule, reload, runs_of

Timer = Callable[[TimerRequest], Awaitable[None]]


def registered_timer(services: Services) -> Timer:
    """`fire_schedules` as `function_app` registers it: on an app, from the blueprint, read back by name."""
    app = func.FunctionApp()
    app.register_functions(schedule_blueprint(services))
    [function] = [f for f in app.get_functions() if f.get_function_name() == "fire_schedules"]
    trigger = function.get_trigger()
    assert trigger is not None
    assert trigger.get_binding_name() == "timerTrigger"
    assert trigger.get_dict_repr()["schedule"] == SCHEDULES_SCHEDULE
    user_function: Timer = function.get_user_function()
    return user_function


async def test_the_timer_fired_twice_at_once_and_then_late_starts_one_run_per_window(
    services: Services, clock: MovableClock
) -> None:
    timer = registered_timer(services)
    project = new_project(services)
    schedule = new_schedule(services, project)
    first = schedule.next_due_at
    clock.current = first + timedelta(seconds=2)

    # The host fires twice for the same minute (two instances): one run.
    await asyncio.gather(timer(TimerRequest(past_due=False)), timer(TimerRequest(past_due=False)))
    runs = runs_of(services, project, schedule.row_key)
    assert len(runs) == 1

    # The first run ends; the host is down for three hours and fires late (past_due): one run more.
    services.runs.runs.upsert(runs[0].model_copy(update={"status": RunStatus.COMPLETED, "finished_at": clock.now()}))
    clock.current = first + timedelta(hours=3, minutes=10)
    await timer(TimerRequest(past_due=True))
    await timer(TimerRequest(past_due=True))
    assert len(runs_of(services, project, schedule.row_key)) == 2
    statuses = [f.status for f in firings_of(services, project, schedule.row_key)]
    assert statuses == [FiringStatus.STARTED, FiringStatus.SKIPPED, FiringStatus.SKIPPED, FiringStatus.STARTED]
    assert reload(services, project, schedule.row_key).next_due_at == first + timedelta(hours=4)
