"""NCRONTAB parsing and next occurrences: pure functions on fixed UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.schedules.ncrontab import CronSchedule, IntervalSchedule, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurrences(expression: str, start: str, count: int) -> list[str]:
    schedule = parse_schedule(expression)
    moment, found = at(start), []
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment.strftime("%Y-%m-%d %H:%M:%S %a"))
    return found


def test_every_five_seconds() -> None:
    assert occurrences("*/5 * * * * *", "2026-03-01T10:00:03", 3) == [
        "2026-03-01 10:00:05 Sun",
        "2026-03-01 10:00:10 Sun",
        "2026-03-01 10:00:15 Sun",
    ]


def test_next_is_strictly_after_an_exact_occurrence() -> None:
    assert occurrences("*/5 * * * * *", "2026-03-01T10:00:05", 1) == ["2026-03-01 10:00:10 Sun"]
    # Fractions of a second are dropped before stepping on.
    assert parse_schedule("* * * * * *").next_after(at("2026-03-01T10:00:05.900")) == at("2026-03-01T10:00:06")


def test_every_five_minutes_at_second_zero() -> None:
    assert occurrences("0 */5 * * * *", "2026-03-01T23:57:10", 3) == [
        "2026-03-02 00:00:00 Mon",
        "2026-03-02 00:05:00 Mon",
        "2026-03-02 00:10:00 Mon",
    ]


def test_weekdays_at_half_past_nine() -> None:
    # Friday 2026-03-06 after 09:30 -> Monday, Tuesday.
    assert occurrences("0 30 9 * * 1-5", "2026-03-06T09:30:00", 2) == [
        "2026-03-09 09:30:00 Mon",
        "2026-03-10 09:30:00 Tue",
    ]


def test_five_fields_means_no_seconds_field() -> None:
    assert occurrences("*/15 * * * *", "2026-03-01T10:07:30", 3) == [
        "2026-03-01 10:15:00 Sun",
        "2026-03-01 10:30:00 Sun",
        "2026-03-01 10:45:00 Sun",
    ]


def test_names_lists_and_ranges() -> None:
    assert occurrences("0 0 12 * JAN,jul MON", "2026-06-30T00:00:00", 2) == [
        "2026-07-06 12:00:00 Mon",
        "2026-07-13 12:00:00 Mon",
    ]
    assert occurrences("0 0 8 * * Mon-Wed", "2026-03-04T09:00:00", 2) == [  # a Wednesday
        "2026-03-09 08:00:00 Mon",
        "2026-03-10 08:00:00 Tue",
    ]
    assert occurrences("0 0 0 1 february-march sunday", "2026-01-01T00:00:00", 2) == [
        "2026-02-01 00:00:00 Sun",
        "2026-03-01 00:00:00 Sun",
    ]


def test_steps_over_ranges_and_from_a_start() -> None:
    assert occurrences("10-30/10 0 0 * * *", "2026-03-01T00:00:00", 4) == [
        "2026-03-01 00:00:10 Sun",
        "2026-03-01 00:00:20 Sun",
        "2026-03-01 00:00:30 Sun",
        "2026-03-02 00:00:10 Mon",
    ]
    assert occurrences("0 50/5 * * * *", "2026-03-01T10:00:00", 3) == [
        "2026-03-01 10:50:00 Sun",
        "2026-03-01 10:55:00 Sun",
        "2026-03-01 11:50:00 Sun",
    ]


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # The 13th that is a Friday, as NCrontab reads it (not "the 13th or any Friday").
    assert occurrences("0 0 0 13 * 5", "2026-01-01T00:00:00", 2) == [
        "2026-02-13 00:00:00 Fri",
        "2026-03-13 00:00:00 Fri",
    ]


def test_leap_day_and_year_end() -> None:
    assert occurrences("0 0 0 29 2 *", "2026-01-01T00:00:00", 1) == ["2028-02-29 00:00:00 Tue"]
    assert occurrences("59 59 23 31 12 *", "2026-12-31T23:59:59", 1) == ["2027-12-31 23:59:59 Fri"]


def test_result_is_utc_for_any_input_zone() -> None:
    paris = timezone(timedelta(hours=1))
    result = parse_schedule("0 0 * * * *").next_after(datetime(2026, 3, 1, 10, 30, tzinfo=paris))
    assert result == at("2026-03-01T10:00:00")
    assert result.tzinfo == UTC


def test_matches() -> None:
    schedule = CronSchedule.parse("0 30 9 * * 1-5")
    assert schedule.matches(at("2026-03-06T09:30:00"))
    assert not schedule.matches(at("2026-03-07T09:30:00"))  # Saturday


def test_timespan_form_is_an_interval() -> None:
    schedule = parse_schedule("00:05:00")
    assert schedule == IntervalSchedule(timedelta(minutes=5))
    assert schedule.next_after(at("2026-03-01T10:00:03")) == at("2026-03-01T10:05:03")
    assert parse_schedule("1.02:00:00") == IntervalSchedule(timedelta(days=1, hours=2))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "has 0 fields"),
        ("* * * *", "has 4 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("60 * * * * *", "second value 60 is outside 0-59"),
        ("* * 24 * * *", "hour value 24 is outside 0-23"),
        ("* * * 0 * *", "day of month value 0 is outside 1-31"),
        ("* * * * 13 *", "month value 13 is outside 1-12"),
        ("* * * * * 7", "day of week value 7 is outside 0-6"),
        ("*/0 * * * * *", "step '0'"),
        ("*/x * * * * *", "step 'x'"),
        ("5-1 * * * * *", "runs backwards"),
        ("* * * * FOO *", "'FOO' is not a valid month"),
        ("* * * * * MO", "'MO' is not a valid day of week"),
        ("1,,2 * * * * *", "'' is not a valid second"),
        ("-1 * * * * *", "is not a valid second"),
        ("0 0 0 30 2 *", "no occurrence"),
        ("00:00:00", "longer than zero"),
    ],
)
def test_invalid_expressions_raise_a_clear_value_error(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_schedule(expression).next_after(at("2026-01-01T00:00:00"))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CronSchedule.parse("* * * * * *").next_after(datetime(2026, 1, 1))
