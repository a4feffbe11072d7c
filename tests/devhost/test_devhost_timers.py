"""The local host fires timer functions on their NCRONTAB schedule in a real process."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.support.devhost_process import DevHostProcess, wait_until

pytestmark = pytest.mark.slow


def test_timer_fires_on_its_schedule(devhost: Callable[..., DevHostProcess]) -> None:
    host = devhost("tests.devhost.apps.timer_app:app")  # schedule: every second
    wait_until(lambda: len(host.records("tick")) >= 2, 15, "two ticks")
    ticks = host.records("tick")
    assert [t["past_due"] for t in ticks] == [False] * len(ticks)
    assert ticks[1]["time"] - ticks[0]["time"] >= 0.5  # separate occurrences, not a double fire

    host.signal(signal.SIGTERM)
    assert host.wait(timeout=20) == 0
