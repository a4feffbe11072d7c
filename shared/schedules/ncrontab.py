"""Timer schedules as the Functions host reads them: NCRONTAB expressions and `hh:mm:ss` intervals.

NCRONTAB has six fields, `second minute hour day month day-of-week`; a five-field expression is a
classic cron without seconds (second 0). Fields accept `*`, numbers, names (JAN-DEC, SUN-SAT or the
full names), lists `a,b`, ranges `a-b` and steps `*/n`, `a-b/n`, `a/n`. As in the NCrontab library
the host uses, a time matches when every field matches (day of month AND day of week), and all
times are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")

# Give up looking for an occurrence after this many years: an expression such as "0 0 0 30 2 *"
# (February 30th) matches nothing, and the search must end with an error instead of looping.
_SEARCH_YEARS = 8


class Schedule(Protocol):
    """Anything that can say when a timer fires next."""

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (an aware datetime), in UTC."""
        ...


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0

    def value(self, text: str, expression: str) -> int:
        """One number or name of this field, checked against its range."""
        number = int(text) if text.isdigit() else self._by_name(text, expression)
        if not self.low <= number <= self.high:
            raise ValueError(f"NCRONTAB {expression!r}: {self.name} value {number} is outside {self.low}-{self.high}")
        return number

    def _by_name(self, text: str, expression: str) -> int:
        lowered = text.lower()
        if self.names and len(lowered) >= 3:
            for index, full in enumerate(self.names):
                if full.startswith(lowered):
                    return index + self.names_start
        raise ValueError(f"NCRONTAB {expression!r}: {text!r} is not a valid {self.name}")


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day of month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS, 1)
_WEEKDAY = _Field("day of week", 0, 6, _DAYS, 0)
_STEP = re.compile(r"^(?P<range>[^/]+)(?:/(?P<step>[^/]+))?$")


def _parse_field(text: str, field: _Field, expression: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _STEP.match(item)
        if match is None:
            raise ValueError(f"NCRONTAB {expression!r}: {item!r} is not a valid {field.name} item")
        range_text, step_text = match.group("range"), match.group("step")
        step = 1
        if step_text is not None:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"NCRONTAB {expression!r}: step {step_text!r} in {item!r} must be a positive number")
            step = int(step_text)
        if range_text == "*":
            start, end = field.low, field.high
        elif "-" in range_text:
            first, _, last = range_text.partition("-")
            start, end = field.value(first, expression), field.value(last, expression)
            if start > end:
                raise ValueError(f"NCRONTAB {expression!r}: range {range_text!r} of {field.name} runs backwards")
        else:
            start = field.value(range_text, expression)
            # `a/n` means from a to the end of the field every n, as in NCrontab.
            end = field.high if step_text is not None else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed NCRONTAB expression."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in NCrontab

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse a six-field (with seconds) or five-field (without) expression; ValueError names the fault."""
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ValueError(
                f"NCRONTAB {expression!r} has {len(fields)} fields; expected 6 "
                "(second minute hour day month day-of-week) or 5 (without seconds)"
            )
        kinds = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)
        parsed = [_parse_field(text, kind, expression) for text, kind in zip(fields, kinds, strict=True)]
        return cls(expression, *parsed)

    def matches(self, moment: datetime) -> bool:
        """True when `moment` (whole seconds, UTC) is an occurrence."""
        moment = moment.astimezone(UTC)
        return (
            moment.second in self.seconds
            and moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.day in self.days
            and moment.month in self.months
            and _weekday(moment) in self.weekdays
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`, in UTC, at whole seconds."""
        if moment.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        start = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = start.replace(year=start.year + _SEARCH_YEARS, month=1, day=1)
        candidate = start
        # Each step jumps to the start of the next month, day, hour or minute that can still match,
        # so the search costs at most a few thousand steps even for sparse schedules.
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = _next_month(candidate)
            elif candidate.day not in self.days or _weekday(candidate) not in self.weekdays:
                candidate = candidate.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0, second=0) + timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate = candidate.replace(second=0) + timedelta(minutes=1)
            else:
                later = [s for s in self.seconds if s >= candidate.second]
                if later:
                    return candidate.replace(second=min(later))
                candidate = candidate.replace(second=0) + timedelta(minutes=1)
        raise ValueError(f"NCRONTAB {self.expression!r} has no occurrence within {_SEARCH_YEARS} years")


@dataclass(frozen=True)
class IntervalSchedule:
    """The `hh:mm:ss` form: fire every interval, counted from the previous occurrence."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        """`moment` plus the interval."""
        return moment.astimezone(UTC) + self.interval


_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2})$")


def parse_schedule(expression: str) -> Schedule:
    """A timer trigger's schedule: `hh:mm:ss` (or `d.hh:mm:ss`) as an interval, anything else as NCRONTAB."""
    text = expression.strip()
    match = _TIMESPAN.match(text)
    if match is None:
        return CronSchedule.parse(text)
    interval = timedelta(
        days=int(match.group("days") or 0),
        hours=int(match.group("h")),
        minutes=int(match.group("m")),
        seconds=int(match.group("s")),
    )
    if interval <= timedelta(0):
        raise ValueError(f"timer interval {expression!r} must be longer than zero")
    return IntervalSchedule(interval)


def _weekday(moment: datetime) -> int:
    # Python counts Monday as 0; cron counts Sunday as 0.
    return (moment.weekday() + 1) % 7


def _next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return moment.replace(year=moment.year + 1, month=1, day=1, hour=0, minute=0, second=0)
    return moment.replace(month=moment.month + 1, day=1, hour=0, minute=0, second=0)
