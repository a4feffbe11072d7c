"""The per-target summary of a run: quality with intervals, latency, throughput, cost, errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.stats.intervals import bootstrap_mean_interval, wilson_interval
from shared.stats.percentiles import percentile


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """One result of one target (a case and trial), as the summary needs it.

    `score` and `passed` are None when the item was not scored (it errored). `cost` is None when the
    item could not be priced (no price for the model), which is not the same as a cost of 0 (an error
    the provider did not bill). Latencies are milliseconds; `ttft_ms` is None for non-streamed calls.
    """

    score: float | None
    passed: bool | None
    error: bool = False
    latency_ms: float | None = None
    ttft_ms: float | None = None
    output_tokens: int | None = None
    cost: Decimal | None = None
    retries: int = 0


class Interval(BaseModel):
    """A point estimate with its interval at `confidence`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    low: float
    high: float
    confidence: float


class TargetSummary(BaseModel):
    """A target's statistics over its items.

    - `n`: items; `n_scored`: items with a score; `errors`: items that errored.
    - `mean_score`: mean over scored items, percentile-bootstrap interval; `pass_rate`: share of scored
      items that passed, Wilson interval; `error_rate`: errors / n, Wilson interval.
    - latency p50 / p95 and TTFT p50 over items that reported them (errors included when timed: a slow
      failure is still latency a caller waits for).
    - `tokens_per_second`: generation speed after the first token, sum of output tokens / sum of
      (latency - TTFT) over streamed items with both timings and output tokens; None without any.
    - `cost_total`: sum of priced items; `cost_per_case`: cost_total / priced items; `unpriced_items`
      counts items without a price, in which case the total covers the priced items only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    n_scored: int
    errors: int
    mean_score: Interval | None
    pass_rate: Interval | None
    error_rate: Interval | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p50_ms: float | None
    tokens_per_second: float | None
    cost_total: Decimal | None
    cost_per_case: Decimal | None
    unpriced_items: int
    retries_total: int


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def summarize_target(
    items: Sequence[ItemOutcome], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> TargetSummary:
    """Summarize one target's items (see TargetSummary for every definition); deterministic for a seed."""
    n = len(items)
    scores = _finite([item.score for item in items])
    judged = [item.passed for item in items if item.passed is not None]
    errors = sum(1 for item in items if item.error)

    mean_score = None
    if scores:
        low, high = bootstrap_mean_interval(scores, confidence, resamples, seed, support=(0.0, 1.0))
        mean_score = Interval(value=math.fsum(scores) / len(scores), low=low, high=high, confidence=confidence)
    pass_rate = None
    if judged:
        passes = sum(judged)
        low, high = wilson_interval(passes, len(judged), confidence)
        pass_rate = Interval(value=passes / len(judged), low=low, high=high, confidence=confidence)
    error_rate = None
    if n:
        low, high = wilson_interval(errors, n, confidence)
        error_rate = Interval(value=errors / n, low=low, high=high, confidence=confidence)

    latencies = _finite([item.latency_ms for item in items])
    ttfts = _finite([item.ttft_ms for item in items])

    generated_tokens = 0
    generation_ms = 0.0
    for item in items:
        if item.output_tokens is None or item.latency_ms is None or item.ttft_ms is None:
            continue
        if item.latency_ms > item.ttft_ms:
            generated_tokens += item.output_tokens
            generation_ms += item.latency_ms - item.ttft_ms

    priced = [item.cost for item in items if item.cost is not None]
    cost_total = sum(priced, Decimal(0)) if priced else None

    return TargetSummary(
        n=n,
        n_scored=len(scores),
        errors=errors,
        mean_score=mean_score,
        pass_rate=pass_rate,
        error_rate=error_rate,
        latency_p50_ms=percentile(latencies, 50) if latencies else None,
        latency_p95_ms=percentile(latencies, 95) if latencies else None,
        ttft_p50_ms=percentile(ttfts, 50) if ttfts else None,
        tokens_per_second=generated_tokens / (generation_ms / 1000) if generation_ms > 0 else None,
        cost_total=cost_total,
        cost_per_case=cost_total / len(priced) if cost_total is not None else None,
        unpriced_items=n - len(priced),
        retries_total=sum(item.retries for item in items),
    )
