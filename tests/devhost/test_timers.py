"""TimerRunner in-process: runOnStartup, schedule-driven firing and past_due when the loop was blocked."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import azure.functions as func

from shared.devhost.functions import Invoker, discover
from shared.devhost.timers import TimerRunner
from shared.schedules.ncrontab import parse_schedule


async def test_run_on_startup_then_schedule_then_past_due_after_a_blocked_loop() -> None:
    calls: list[tuple[bool, dict[str, str]]] = []
    app = func.FunctionApp()

    @app.timer_trigger(schedule="* * * * * *", arg_name="timer", run_on_startup=True)
    async def tick(timer: func.TimerRequest) -> None:
        calls.append((timer.past_due, dict(getattr(timer, "schedule_status", {}))))

    (spec,) = discover(app, {})
    with ThreadPoolExecutor(1) as pool:
        runner = TimerRunner(spec, parse_schedule("* * * * * *"), Invoker(pool), run_on_startup=True)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            deadline = time.monotonic() + 10
            while len(calls) < 2:  # the start-up run, then the first scheduled second
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            # Block the event loop past the next occurrence, as a busy synchronous call would.
            time.sleep(2.5)  # noqa: ASYNC251 - blocking the loop on purpose
            while len(calls) < 3:
                assert time.monotonic() < deadline + 5
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=5)

    assert [past_due for past_due, _ in calls[:3]] == [False, False, True]
    assert set(calls[1][1]) == {"Last", "Next", "LastUpdated"}
    assert calls[1][1]["Next"] > calls[1][1]["Last"]
