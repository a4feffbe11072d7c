"""What a tenant's schedule may be: five or six fields, at least 15 minutes apart, able to fire at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.schedules.cron import parse_cron, shortest_gap
from shared.schedules.ncrontab import CronSchedule


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("0 30 2 * * *", timedelta(days=1)),
        ("30 2 * * *", timedelta(days=1)),
        ("0 0 * * * *", timedelta(minutes=60)),
        ("0 */15 * * * *", timedelta(minutes=15)),
        ("0 0,20 9-17 * * 1-5", timedelta(minutes=20)),
        ("0 0 6 * * 1-5", timedelta(days=1)),
    ],
)
def test_schedules_at_least_fifteen_minutes_apart_are_accepted(expression: str, gap: timedelta) -> None:
    assert parse_cron(expression).expression == expression
    assert shortest_gap(CronSchedule.parse(expression)) == gap


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("* * * * *", "1 minute\\(s\\)"),
        ("*/5 * * * *", "5 minute\\(s\\)"),
        ("0 */10 * * * *", "10 minute\\(s\\)"),
        ("0,30 0 * * * *", "30 second\\(s\\)"),
        # 02:55 then 03:05: ten minutes across the hour.
        ("0 5,55 2,3 * * *", "10 minute\\(s\\)"),
        # 23:55 then 00:05 the next day.
        ("0 5,55 0,23 * * *", "10 minute\\(s\\)"),
    ],
)
def test_schedules_firing_more_often_are_refused(expression: str, shown: str) -> None:
    with pytest.raises(ValueError, match=f"fires {shown} apart") as refused:
        parse_cron(expression)
    assert "at most every 15 minutes" in str(refused.value)


def test_five_minutes_apart_in_one_hour_of_the_day_is_still_too_often() -> None:
    with pytest.raises(ValueError, match=r"5 minute\(s\) apart"):
        parse_cron("0,5 9 * * *")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 30 2 *", "no occurrence within"),
        ("0 0 * *", "has 4 fields"),
        ("0 61 * * * *", "minute value 61 is outside 0-59"),
        ("0 0 * * * nope", "'nope' is not a valid day of week"),
    ],
)
def test_invalid_expressions_carry_the_parsers_message(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)
