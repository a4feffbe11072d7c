"""Provider status: `GET /api/v1/projects/{project}/provider-status`.

Thin: authorize (viewer, `runs:read`), read the project's provider-call rows of the last 24 hours
(one range query), summarize with `shared.providers.status`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.providers.call_counts import ErrorClass
from shared.providers.status import WINDOWS, ModelStatus, Status, WindowStats
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}", tags=["provider status"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
WindowName = Literal["15m", "1h", "24h"]


class WindowOut(BaseModel):
    """One provider and model over one window: every attempt, retried ones included."""

    calls: int = Field(description="Provider attempts (HTTP calls), retries included.")
    successes: int
    rate_limited: int = Field(description="Attempts refused with a rate limit (429).")
    server_errors: int = Field(description="Attempts answered with a 5xx.")
    timeouts: int
    other_errors: int = Field(description="Other failures: connection errors, 4xx other than 429, bad bodies.")
    error_rate: float | None = Field(description="Server errors, timeouts and other errors over calls (null: none).")
    rate_limit_rate: float | None = Field(description="Rate-limited attempts over calls (null: no calls).")
    latency_p50_ms: float | None = Field(description="Median latency of successful attempts (within 1%).")
    latency_p95_ms: float | None = Field(description="95th percentile latency of successful attempts (within 1%).")
    last_error_at: datetime | None
    last_error_class: ErrorClass | None

    @classmethod
    def of(cls, stats: WindowStats) -> WindowOut:
        """The public view of a window's figures."""
        return cls(
            calls=stats.calls,
            successes=stats.successes,
            rate_limited=stats.rate_limited,
            server_errors=stats.server_errors,
            timeouts=stats.timeouts,
            other_errors=stats.other_errors,
            error_rate=stats.error_rate,
            rate_limit_rate=stats.rate_limit_rate,
            latency_p50_ms=stats.p(0.5),
            latency_p95_ms=stats.p(0.95),
            last_error_at=stats.last_error_at,
            last_error_class=stats.last_error_class,
        )


class ModelStatusOut(BaseModel):
    """A provider and model the project called in the last 24 hours."""

    provider: str
    model: str
    status: Status = Field(
        description="From the last 15 minutes, with at least 5 calls: `down` at an error rate of 50% or more; "
        "`degraded` at an error rate or rate-limit rate of 10% or more, or a p95 latency at least twice that of "
        "the 24 hours before (20 successes on each side); else `ok`."
    )
    reasons: list[str] = Field(description="Why the status is not `ok`, in words (empty when ok).")
    windows: dict[str, WindowOut] = Field(description="Figures per window: `15m`, `1h`, `24h` (or the one asked for).")

    @classmethod
    def of(cls, status: ModelStatus, window: WindowName | None) -> ModelStatusOut:
        """The public view of one model's status."""
        names = [window] if window is not None else list(WINDOWS)
        return cls(
            provider=status.provider,
            model=status.model,
            status=status.status,
            reasons=list(status.reasons),
            windows={name: WindowOut.of(status.windows[name]) for name in names},
        )


_EXAMPLE_WINDOW: dict[str, Any] = {
    "calls": 240,
    "successes": 198,
    "rate_limited": 36,
    "server_errors": 6,
    "timeouts": 0,
    "other_errors": 0,
    "error_rate": 0.025,
    "rate_limit_rate": 0.15,
    "latency_p50_ms": 812.4,
    "latency_p95_ms": 1630.2,
    "last_error_at": "2026-11-27T18:54:31Z",
    "last_error_class": "rate_limited",
}


class ProviderStatusOut(BaseModel):
    """Every provider and model of the project's recent calls, ordered by provider and model."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-27T18:55:02Z",
                    "window": "15m",
                    "models": [
                        {
                            "provider": "openai",
                            "model": "gpt-4o-mini",
                            "status": "degraded",
                            "reasons": ["rate limited on 15% of 240 calls in the last 15 minutes"],
                            "windows": {"15m": _EXAMPLE_WINDOW},
                        }
                    ],
                }
            ]
        }
    )

    as_of: datetime
    window: WindowName | None = Field(description="The window asked for; null: every window.")
    models: list[ModelStatusOut]


@router.get(
    "/provider-status",
    response_model=ProviderStatusOut,
    summary="Provider status from the project's own calls (viewer)",
    description="Per provider and model the project called in the last 24 hours: attempts (retries included), "
    "error rate, rate-limit rate, latency p50/p95 of successful attempts, the last error, and a status "
    "(`ok`, `degraded`, `down`) from the last 15 minutes, so an outage or a slowdown shows before it reaches "
    "a trend. Counts and latencies only (no prompts or outputs), kept 7 days. `window` limits the figures to "
    "one window; the status is the same either way.",
)
async def get_provider_status(
    access: ReadAccess,
    services: ServicesDep,
    window: Annotated[
        WindowName | None, Query(description="Only this window's figures: `15m`, `1h` or `24h` (default: all).")
    ] = None,
) -> ProviderStatusOut:
    """The project's provider status."""
    now = services.clock.now()
    statuses = await asyncio.to_thread(services.provider_status.status, access.tenant_id, access.project_id, now)
    return ProviderStatusOut(
        as_of=now,
        window=window,
        models=[ModelStatusOut.of(status, window) for status in statuses],
    )
