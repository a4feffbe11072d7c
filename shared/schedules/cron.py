"""What a tenant's schedule may be: NCRONTAB (5 or 6 fields, UTC) firing at most every 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from shared.schedules.ncrontab import CronSchedule

MIN_INTERVAL = timedelta(minutes=15)
# Walking occurrences from here shows that an expression can fire at all (February 30th cannot).
_PROBE_START = datetime(2026, 1, 1, tzinfo=UTC)


def parse_cron(expression: str) -> CronSchedule:
    """The parsed schedule; ValueError (the parser's message, or why it fires too often) otherwise."""
    schedule = CronSchedule.parse(expression.strip())
    gap = shortest_gap(schedule)
    if gap < MIN_INTERVAL:
        seconds = int(gap.total_seconds())
        shown = f"{seconds // 60} minute(s)" if seconds >= 60 else f"{seconds} second(s)"
        raise ValueError(
            f"NCRONTAB {expression!r} fires {shown} apart at times; a schedule may fire at most every "
            f"{MIN_INTERVAL.total_seconds() / 60:g} minutes"
        )
    schedule.next_after(_PROBE_START)  # raises when nothing ever matches
    return schedule


def shortest_gap(schedule: CronSchedule) -> timedelta:
    """The shortest time between two consecutive occurrences (erring short across midnight).

    Within an hour the gaps are those between the seconds and minutes that match; from one hour to
    the next they add the wrap from the last minute to the first, when two consecutive hours match
    (23 and 0 count as consecutive whatever the days, which can only refuse a rare valid schedule).
    """
    if len(schedule.seconds) > 1:
        seconds = sorted(schedule.seconds)
        return timedelta(seconds=min(b - a for a, b in pairwise(seconds)))
    minutes = sorted(schedule.minutes)
    gaps = [b - a for a, b in pairwise(minutes)]
    if any((hour + 1) % 24 in schedule.hours for hour in schedule.hours):
        gaps.append(60 - minutes[-1] + minutes[0])
    return timedelta(minutes=min(gaps)) if gaps else timedelta(days=1)
