"""Observations built in memory so a decision's answer is known in advance."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.routing.candidates import Observation
from shared.routing.decide import Pool
from shared.routing.models import Evidence

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def pool(
    target: str,
    *,
    passes: int,
    n: int = 200,
    latency_ms: float = 100.0,
    slow_every: int = 0,
    slow_ms: float = 0.0,
    cost: str | None = "0.001",
    errors: int = 0,
) -> Pool:
    """`n` cases `c000...`; cases below `passes` pass; the last `errors` cases error; every `slow_every`th
    case takes `slow_ms` (0: none); each request costs `cost` USD."""
    provider, model = target.split(":", 1)
    observations = []
    for i in range(n):
        error = i >= n - errors
        slow = slow_every > 0 and i % slow_every == 0
        observations.append(
            Observation(
                run_id="run_aaaaaaaaaaaaaaaaaaaa",
                case_key=f"v:c{i:03d}",
                passed=None if error else i < passes,
                score=None if error else (1.0 if i < passes else 0.0),
                error=error,
                latency_ms=slow_ms if slow else latency_ms + (i % 7),
                cost_usd=Decimal(cost) if cost is not None else None,
                model_version=f"{model}-2026-10",
            )
        )
    return Pool(target, provider, model, observations)


def evidence(*pools: Pool) -> Evidence:
    """Provenance for in-memory pools (the decision logic does not read it)."""
    return Evidence(
        runs=[],
        suite_versions=["v"],
        price_versions=["test"],
        window_start=NOW,
        window_end=NOW,
        sample_sizes={p.target: len(p.observations) for p in pools},
        model_versions={p.target: [] for p in pools},
    )
