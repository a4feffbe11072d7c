"""Trend series as the API answers them: one metric per target over a time range, from stored points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from shared.trends.models import Granularity
from shared.trends.rollup import Rollup

# How far one request may reach: 400 days of daily points, 31 days of hourly ones.
MAX_SPAN: Final[dict[Granularity, timedelta]] = {"d": timedelta(days=400), "h": timedelta(days=31)}
# Points read at most per request (every target of a suite); asking for one target always fits.
MAX_POINTS: Final = 10_000


class TooManyPoints(Exception):
    """The range holds more points than one answer may carry; narrow it or pick one target."""


@dataclass(frozen=True)
class SeriesPoint:
    """A bucket's value of the metric, its interval (None when the metric has none) and sample size."""

    start: datetime
    value: float
    low: float | None
    high: float | None
    n: int
    runs: int


@dataclass(frozen=True)
class TargetSeries:
    """One target's points in time order."""

    target_key: str
    provider: str
    model: str
    points: list[SeriesPoint]


def check_range(start: datetime, end: datetime, granularity: Granularity) -> str | None:
    """Why [start, end) is not an acceptable range (None when it is)."""
    if start >= end:
        return "from must be before to"
    if end - start > MAX_SPAN[granularity]:
        return f"the range may span at most {MAX_SPAN[granularity].days} days at this granularity"
    return None


def utc(moment: datetime) -> datetime:
    """`moment` as aware UTC (a naive datetime is read as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_series(
    rollup: Rollup,
    tenant_id: str,
    project_id: str,
    suite_id: str,
    metric: str,
    granularity: Granularity,
    start: datetime,
    end: datetime,
    target: str | None = None,
) -> list[TargetSeries]:
    """The metric's series per target of the suite (or of `target` alone), buckets starting in
    [start, end); buckets where the metric has no data are left out. Raises TooManyPoints."""
    points = rollup.series(tenant_id, project_id, suite_id, granularity, start, end, target=target, limit=MAX_POINTS)
    if len(points) > MAX_POINTS:
        raise TooManyPoints(f"more than {MAX_POINTS} points; narrow from/to or pick a target")
    series: dict[str, TargetSeries] = {}
    for point in points:
        line = series.setdefault(point.target_key, TargetSeries(point.target_key, point.provider, point.model, []))
        value = point.parsed().metric(metric)
        if value is not None:
            line.points.append(SeriesPoint(point.start, value.value, value.low, value.high, value.n, point.runs))
    for line in series.values():
        line.points.sort(key=lambda p: p.start)
    return sorted(series.values(), key=lambda line: line.target_key)
