"""`GET /api/v1/projects/{project}/trends`: a metric over time per target of a suite, from the rollups.

Thin: validate the range, authorize (viewer, `runs:read`), read `shared.trends.series`. A suite with
no rollups yet (or of another project) answers an empty list of series, never an error.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.problems import ApiProblem, FieldError, problem_doc, problem_example
from shared.tenancy.roles import Role, Scope
from shared.trends.aggregate import METRICS, Metric
from shared.trends.models import Granularity
from shared.trends.series import TooManyPoints, check_range, read_series, utc

router = APIRouter(prefix="/projects/{project}/trends", tags=["trends"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]

# Without from/to: the last 30 days of daily points, the last 2 days of hourly ones.
DEFAULT_SPAN: dict[Granularity, timedelta] = {"d": timedelta(days=30), "h": timedelta(days=2)}
TARGET_KEY_PATTERN = r"^[a-z0-9_]{1,40}\.[a-z0-9._-]{1,60}\.[0-9a-f]{16}$"


class TrendPoint(BaseModel):
    """One bucket: the metric's value, its interval (null when the metric has none), and sample sizes."""

    start: datetime = Field(description="Start of the hour or day (UTC).")
    value: float
    low: float | None = Field(description="Lower bound of the 95% interval; null for tokens_per_second.")
    high: float | None = Field(description="Upper bound of the 95% interval; null for tokens_per_second.")
    n: int = Field(description="Items behind the value (scored, judged, timed or priced ones, per metric).")
    runs: int = Field(description="Runs merged into the bucket.")


class TrendSeries(BaseModel):
    """One target's points in time order."""

    target_key: str = Field(
        description="The target across runs: provider, model slug and a hash of its parameters.",
        examples=["sandbox.sandbox_fast-accurate.27ae497bfcf0c991"],
    )
    provider: str
    model: str
    points: list[TrendPoint]


class Trends(BaseModel):
    """A metric's series for every target of the suite (or the one asked for)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "suite_id": "ste_abcdefghijklmnopqrst",
                    "metric": "pass_rate",
                    "granularity": "day",
                    "from": "2026-11-01T00:00:00Z",
                    "to": "2026-11-03T00:00:00Z",
                    "series": [
                        {
                            "target_key": "sandbox.sandbox_fast-accurate.27ae497bfcf0c991",
                            "provider": "sandbox",
                            "model": "sandbox/fast-accurate",
                            "points": [
                                {
                                    "start": "2026-11-01T00:00:00Z",
                                    "value": 0.9,
                                    "low": 0.84,
                                    "high": 0.94,
                                    "n": 200,
                                    "runs": 2,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    suite_id: str
    metric: str
    granularity: Literal["hour", "day"]
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    series: list[TrendSeries]


_INVALID = problem_doc(
    "An unknown metric, a range that is empty or too long, or more points than one answer carries",
    {
        "range": problem_example(
            422,
            "validation",
            "Invalid request",
            "the range may span at most 31 days at this granularity",
            errors=[{"path": "query.from", "message": "the range may span at most 31 days", "type": "invalid"}],
        ),
        "metric": problem_example(
            422,
            "validation",
            "Invalid request",
            "query.metric: Input should be 'quality', 'pass_rate', ...",
            errors=[
                {
                    "path": "query.metric",
                    "message": "Input should be 'quality', 'pass_rate', ...",
                    "type": "literal_error",
                }
            ],
        ),
    },
)


def _invalid(path: str, message: str) -> ApiProblem:
    return ApiProblem(
        422, "validation", "Invalid request", message, errors=[FieldError(path=path, message=message, type="invalid")]
    )


@router.get(
    "",
    response_model=Trends,
    response_model_by_alias=True,
    summary="A metric over time (viewer)",
    responses={422: _INVALID},
)
async def get_trends(
    access: ReadAccess,
    services: ServicesDep,
    suite: Annotated[str, Query(pattern=r"^ste_[a-z2-7]{20}$", description="The suite (`ste_...`).")],
    metric: Annotated[Metric, Query(description=f"One of: {', '.join(METRICS)}.")],
    target: Annotated[
        str | None,
        Query(
            pattern=TARGET_KEY_PATTERN, description="A `target_key` from an earlier answer; all targets when absent."
        ),
    ] = None,
    granularity: Annotated[Literal["hour", "day"], Query(description="Bucket size.")] = "day",
    from_: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Start (ISO 8601; UTC when no offset). Default: 30 days (2 for hours) before `to`.",
        ),
    ] = None,
    to: Annotated[
        datetime | None, Query(description="End, exclusive (ISO 8601; UTC when no offset). Default: now.")
    ] = None,
) -> Trends:
    """The metric per hour or day for each target of the suite, from the incremental rollups (a run shows up
    within about ten minutes of finishing). Each point has the value, its 95% interval and its sample size:
    quality (mean score, normal interval), pass_rate and error_rate (Wilson), latency_p50 / latency_p95 /
    ttft_p50 in ms (from 1%-accurate sketches, distribution-free interval), tokens_per_second (no interval)
    and cost_per_case in USD (priced items only). Only completed and partial runs count. Buckets without data
    for the metric are left out; a suite without rollups answers no series. At most 400 days of daily or 31
    days of hourly points per request, and at most 10,000 points (ask for one `target` to narrow)."""
    step: Granularity = "h" if granularity == "hour" else "d"
    end = utc(to) if to is not None else services.clock.now()
    start = utc(from_) if from_ is not None else end - DEFAULT_SPAN[step]
    problem = check_range(start, end, step)
    if problem is not None:
        raise _invalid("query.from", problem)
    try:
        series = await asyncio.to_thread(
            read_series,
            services.rollup,
            access.tenant_id,
            access.project_id,
            suite,
            metric,
            step,
            start,
            end,
            target,
        )
    except TooManyPoints as exc:
        raise _invalid("query.target", str(exc)) from exc
    return Trends.model_validate(
        {
            "suite_id": suite,
            "metric": metric,
            "granularity": granularity,
            "from": start,
            "to": end,
            "series": [
                TrendSeries(
                    target_key=line.target_key,
                    provider=line.provider,
                    model=line.model,
                    points=[
                        TrendPoint(start=p.start, value=p.value, low=p.low, high=p.high, n=p.n, runs=p.runs)
                        for p in line.points
                    ],
                )
                for line in series
            ],
        }
    )
