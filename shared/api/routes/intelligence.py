"""`GET /api/v1/intelligence`: the published cross-tenant aggregates per public model (opt-in projects only)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import CallerDep, authorize
from shared.api.dependencies import ServicesDep
from shared.tenancy.roles import Role, Scope
from shared.trends.intelligence import MAX_TENANT_SHARE, MIN_TENANTS, IntelligenceCellRecord

router = APIRouter(tags=["trends"])


class Estimate(BaseModel):
    """A value with its 95% interval (bounds null when there is none) and its sample size."""

    value: float | None
    low: float | None
    high: float | None
    n: int


class ModelCell(BaseModel):
    """One public model: how it behaved for the tenants that opted in, with no trace of who they are."""

    provider: str
    model: str = Field(description="The model as the shipped price table names it.")
    tenants: int = Field(description=f"Distinct tenants contributing (at least {MIN_TENANTS}).")
    samples: int = Field(description="Calls merged, errors included.")
    latency_p50_ms: Estimate
    latency_p95_ms: Estimate
    ttft_p50_ms: Estimate
    tokens_per_second: Estimate = Field(description="Output tokens per second after the first token; no interval.")
    error_rate: Estimate

    @classmethod
    def of(cls, r: IntelligenceCellRecord) -> ModelCell:
        """The public view of a published cell."""
        return cls(
            provider=r.provider,
            model=r.model,
            tenants=r.tenants,
            samples=r.samples,
            latency_p50_ms=Estimate(
                value=r.latency_p50_ms, low=r.latency_p50_low_ms, high=r.latency_p50_high_ms, n=r.latency_n
            ),
            latency_p95_ms=Estimate(
                value=r.latency_p95_ms, low=r.latency_p95_low_ms, high=r.latency_p95_high_ms, n=r.latency_n
            ),
            ttft_p50_ms=Estimate(value=r.ttft_p50_ms, low=r.ttft_p50_low_ms, high=r.ttft_p50_high_ms, n=r.ttft_n),
            tokens_per_second=Estimate(value=r.tokens_per_second, low=None, high=None, n=r.tokens_per_second_n),
            error_rate=Estimate(value=r.error_rate, low=r.error_rate_low, high=r.error_rate_high, n=r.samples),
        )


class IntelligenceOut(BaseModel):
    """The current publication: its window and the models that qualified."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "published_at": "2026-11-27T04:30:00Z",
                    "window_start": "2026-11-20T00:00:00Z",
                    "window_end": "2026-11-27T00:00:00Z",
                    "min_tenants": 5,
                    "max_tenant_share": 0.5,
                    "price_table_version": "2026-11-01",
                    "models": [
                        {
                            "provider": "openai",
                            "model": "gpt-4o-mini",
                            "tenants": 7,
                            "samples": 18400,
                            "latency_p50_ms": {"value": 820.0, "low": 810.0, "high": 830.0, "n": 18400},
                            "latency_p95_ms": {"value": 2100.0, "low": 2050.0, "high": 2170.0, "n": 18400},
                            "ttft_p50_ms": {"value": 310.0, "low": 305.0, "high": 316.0, "n": 17900},
                            "tokens_per_second": {"value": 92.5, "low": None, "high": None, "n": 17900},
                            "error_rate": {"value": 0.004, "low": 0.003, "high": 0.005, "n": 18400},
                        }
                    ],
                }
            ]
        }
    )

    published_at: datetime | None = Field(description="Null before the first publication.")
    window_start: datetime | None
    window_end: datetime | None
    min_tenants: int = Field(description="A model is listed only when at least this many tenants contribute.")
    max_tenant_share: float = Field(
        description="A model is listed only when no tenant contributes more than this share of its samples."
    )
    price_table_version: str | None
    models: list[ModelCell]


@router.get(
    "/intelligence",
    response_model=IntelligenceOut,
    summary="Cross-tenant aggregates per public model (any caller)",
    description="Latency p50/p95, time to first token, tokens per second and error rate per public model "
    "(OpenAI, Anthropic, Gemini, Azure OpenAI models of the shipped price table) over the last 7 complete "
    "UTC days, from projects whose admins opted in (`aggregate_opt_in`), refreshed daily. A model is listed "
    "only when at least 5 tenants contribute and none contributes more than half of its samples; the "
    "numbers carry counts of tenants and samples, never tenant or project ids, prompts or outputs. Quality "
    "is left out: different tenants' suites ask different questions. Signed-in people of any role may read "
    "it; API keys need `runs:read`.",
)
async def get_intelligence(caller: CallerDep, services: ServicesDep) -> IntelligenceOut:
    """The current publication."""
    authorize(caller, Role.VIEWER, Scope.RUNS_READ)
    pointer, cells = await asyncio.to_thread(services.intelligence.current)
    return IntelligenceOut(
        published_at=pointer.published_at if pointer else None,
        window_start=pointer.window_start if pointer else None,
        window_end=pointer.window_end if pointer else None,
        min_tenants=MIN_TENANTS,
        max_tenant_share=MAX_TENANT_SHARE,
        price_table_version=pointer.price_table_version if pointer else None,
        models=[ModelCell.of(cell) for cell in cells],
    )
