"""`GET /api/v1/projects/{project}/drift-events`: measurements that left their baseline, newest run first."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.tenancy.roles import Role, Scope
from shared.trends.drift_events import DriftEventRecord, DriftKind

router = APIRouter(prefix="/projects/{project}/drift-events", tags=["trends"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
SuiteFilter = Annotated[str | None, Query(pattern=r"^ste_[a-z2-7]{20}$", description="Only this suite's events.")]
KindFilter = Annotated[DriftKind | None, Query(description="Only events of this kind.")]


class Measured(BaseModel):
    """A value with its interval at the event's confidence and its sample size (values are null for a
    new model version, which is a fact, not a measurement)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


class DriftEvent(BaseModel):
    """A run's measurement of a target outside the interval of the same suite and target's recent runs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "dft_abcdefghijklmnopqrst",
                    "kind": "quality_down",
                    "metric": "pass_rate",
                    "suite_id": "ste_abcdefghijklmnopqrst",
                    "target_key": "openai.gpt-4o-mini.1f0c3a9e5b7d2c48",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "run_id": "run_abcdefghijklmnopqrst",
                    "run_created_at": "2026-11-20T06:00:00Z",
                    "detected_at": "2026-11-20T06:15:00Z",
                    "confidence": 0.95,
                    "baseline": {"value": 0.9, "low": 0.87, "high": 0.92, "n": 700},
                    "baseline_runs": 7,
                    "new": {"value": 0.4, "low": 0.31, "high": 0.5, "n": 100},
                    "new_model_versions": [],
                }
            ]
        }
    )

    id: str
    kind: DriftKind
    metric: str = Field(description="`quality`, `pass_rate`, `latency_p95`, `cost_per_case`, `error_rate` or "
                        "`model_version`.")  # fmt: skip
    suite_id: str
    target_key: str = Field(description="The trend series' target key (provider, model and sampling parameters).")
    provider: str
    model: str
    run_id: str = Field(description="The run whose measurement drifted.")
    run_created_at: datetime
    detected_at: datetime
    confidence: float = Field(description="Confidence level of both intervals.")
    baseline: Measured = Field(description="The same suite and target over the 14 days before the run.")
    baseline_runs: int
    new: Measured = Field(description="The run's own measurement.")
    new_model_versions: list[str] = Field(description="For `new_model_version`: versions the baseline never saw.")

    @classmethod
    def of(cls, r: DriftEventRecord) -> DriftEvent:
        """The public view of a stored event."""
        return cls(
            id=r.event_id,
            kind=r.kind,
            metric=r.metric,
            suite_id=r.suite_id,
            target_key=r.target_key,
            provider=r.provider,
            model=r.model,
            run_id=r.run_id,
            run_created_at=r.run_created_at,
            detected_at=r.detected_at,
            confidence=r.confidence,
            baseline=Measured(value=r.baseline_value, low=r.baseline_low, high=r.baseline_high, n=r.baseline_n),
            baseline_runs=r.baseline_runs,
            new=Measured(value=r.new_value, low=r.new_low, high=r.new_high, n=r.new_n),
            new_model_versions=r.new_model_versions,
        )


@router.get(
    "",
    response_model=PageOut[DriftEvent],
    summary="List drift events (viewer)",
    description="Events the trend rollup raised when a run's quality, pass rate, p95 latency, cost per case or "
    "error rate left the interval of the same suite and target's previous 14 days (the two 95% intervals do "
    "not overlap and the change is large enough to matter), or the provider reported a model version the "
    "baseline never saw. Newest run first, paged; optionally of one suite and/or kind. Route decisions "
    "resting on the drifted evidence are marked stale (`stale_reason: drift`).",
)
async def list_drift_events(
    access: ReadAccess,
    services: ServicesDep,
    suite: SuiteFilter = None,
    kind: KindFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[DriftEvent]:
    """A page of events."""
    page = await asyncio.to_thread(
        services.drift.events.list,
        access.tenant_id,
        access.project_id,
        suite_id=suite,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[DriftEvent.of(r) for r in page.items], next_cursor=page.next_cursor)
