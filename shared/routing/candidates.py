"""One candidate's statistics over its pooled results, and its constraint checks on interval bounds.

Bounds are the ends of two-sided intervals at the request's confidence, the same intervals run
summaries show: pass rate and error rate by Wilson, cost per request by percentile bootstrap, p95
latency by the distribution-free order-statistic bound (no assumption about the latency distribution;
with too few timings there is no bound, and the constraint is not met).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.routing.models import CandidateStats, ConstraintCheck, Constraints
from shared.stats.intervals import bootstrap_mean_interval
from shared.stats.summary import ItemOutcome, summarize_target

PER_1K = Decimal(1000)
_P95 = 0.95


@dataclass(frozen=True, slots=True)
class Observation:
    """One result of a candidate: a case and trial of one run, as the decision needs it.

    `case_key` names the case across runs (suite version and case id), so repeated runs of a suite
    pool as trials of the same case. `cost_usd` is the provider's cost only: a judge's cost is what
    benchmarking paid, not what serving the task through the gateway will cost.
    """

    run_id: str
    case_key: str
    passed: bool | None
    score: float | None
    error: bool
    latency_ms: float | None
    cost_usd: Decimal | None
    model_version: str | None = None


def _log_binomial_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def p95_upper_bound(latencies: Sequence[float], confidence: float) -> float | None:
    """An upper confidence bound of the true p95 latency: the k-th smallest observation, k the least
    with P(Binomial(n, 0.95) <= k - 1) >= the upper end's level (1 + confidence) / 2.

    Distribution-free and exact for continuous latencies. None when even the largest observation is not
    a bound at that level (n < 59 at 95%, n < 90 at 99%): the evidence is too thin to bound p95.
    """
    n = len(latencies)
    if n == 0:
        return None
    level = (1 + confidence) / 2
    ordered = sorted(latencies)
    cumulative = 0.0
    for k in range(1, n + 1):
        cumulative += math.exp(_log_binomial_pmf(k - 1, n, _P95))
        if cumulative >= level:
            return ordered[k - 1]
    return None


def min_cases_for_p95_bound(confidence: float) -> int:
    """The fewest timings for which `p95_upper_bound` exists: 0.95^n <= 1 - level."""
    level = (1 + confidence) / 2
    return math.ceil(math.log(1 - level) / math.log(_P95))


def candidate_stats(
    target: str, provider: str, model: str, observations: Sequence[Observation], confidence: float, seed: int = 0
) -> CandidateStats:
    """Pool a candidate's observations into the statistics the decision needs (deterministic for a seed)."""
    summary = summarize_target(
        [
            ItemOutcome(score=o.score, passed=o.passed, error=o.error, latency_ms=o.latency_ms, cost=o.cost_usd)
            for o in observations
        ],
        confidence=confidence,
        seed=seed,
    )
    latencies = [o.latency_ms for o in observations if o.latency_ms is not None and math.isfinite(o.latency_ms)]
    costs = [float(o.cost_usd) for o in observations if o.cost_usd is not None]
    cost_high: Decimal | None = None
    if len(costs) >= 2:
        # One priced item says nothing about spread: no bound (the constraint is then not met).
        _, high = bootstrap_mean_interval(costs, confidence, seed=seed)
        cost_high = Decimal(repr(high)) * PER_1K
    return CandidateStats(
        target=target,
        provider=provider,
        model=model,
        n=summary.n,
        n_scored=summary.n_scored,
        errors=summary.errors,
        pass_rate=summary.pass_rate,
        mean_score=summary.mean_score,
        error_rate=summary.error_rate,
        latency_p50_ms=summary.latency_p50_ms,
        latency_p95_ms=summary.latency_p95_ms,
        latency_p95_high_ms=p95_upper_bound(latencies, confidence),
        cost_per_1k_usd=summary.cost_per_case * PER_1K if summary.cost_per_case is not None else None,
        cost_per_1k_high_usd=cost_high,
        unpriced=summary.unpriced_items,
        model_versions=sorted({o.model_version for o in observations if o.model_version}),
        runs=sorted({o.run_id for o in observations}),
    )


def _check(
    constraint: str, limit: float, estimate: float | None, bound: float | None, *, upper: bool, what: str
) -> ConstraintCheck:
    if bound is None:
        met = False
        reason = f"no {what} bound: too little evidence" if estimate is not None else f"no {what} measured"
    else:
        met = bound <= limit if upper else bound >= limit
        reason = None
        if not met:
            side = "upper" if upper else "lower"
            compare = "above" if upper else "below"
            on_mean = estimate is not None and (estimate <= limit if upper else estimate >= limit)
            reason = f"{what} {side} bound {bound:.4g} is {compare} the limit {limit:.4g}" + (
                f" (the estimate {estimate:.4g} is within it, but not the bound)" if on_mean else ""
            )
    return ConstraintCheck.model_validate(
        {"constraint": constraint, "limit": limit, "estimate": estimate, "bound": bound, "met": met, "reason": reason}
    )


def check_constraints(stats: CandidateStats, constraints: Constraints) -> list[ConstraintCheck]:
    """Every given constraint of the candidate, checked on its bound."""
    checks: list[ConstraintCheck] = []
    if constraints.min_quality is not None:
        rate = stats.pass_rate
        checks.append(
            _check(
                "min_quality",
                constraints.min_quality,
                rate.value if rate else None,
                rate.low if rate else None,
                upper=False,
                what="pass rate",
            )
        )
    if constraints.max_p95_latency_ms is not None:
        checks.append(
            _check(
                "max_p95_latency_ms",
                constraints.max_p95_latency_ms,
                stats.latency_p95_ms,
                stats.latency_p95_high_ms,
                upper=True,
                what="p95 latency",
            )
        )
    if constraints.max_cost_per_1k_usd is not None:
        unpriced = stats.unpriced > 0
        check = _check(
            "max_cost_per_1k_usd",
            float(constraints.max_cost_per_1k_usd),
            float(stats.cost_per_1k_usd) if stats.cost_per_1k_usd is not None else None,
            float(stats.cost_per_1k_high_usd) if stats.cost_per_1k_high_usd is not None and not unpriced else None,
            upper=True,
            what="cost per 1,000 requests",
        )
        if unpriced:
            # An unknown price is not a price under the limit.
            check = check.model_copy(update={"met": False, "reason": f"{stats.unpriced} result(s) have no price"})
        checks.append(check)
    if constraints.max_error_rate is not None:
        rate = stats.error_rate
        checks.append(
            _check(
                "max_error_rate",
                constraints.max_error_rate,
                rate.value if rate else None,
                rate.high if rate else None,
                upper=True,
                what="error rate",
            )
        )
    return checks
