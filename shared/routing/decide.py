"""The decision: pure, deterministic, from pooled observations to a `Decision` document.

Rules (each stated in the decision's rationale):
- A candidate is feasible when every constraint holds on its interval bound (see `candidates`).
- Feasible candidates are ordered by the objective on point estimates (quality: pass rate, cost: cost per
  1,000 requests, latency: observed p95), ties broken by the other two.
- maximize_quality: the top two are compared on their shared cases (`compare_cases`). A significant win
  keeps the winner; "no significant difference" takes the cheaper of the two and says so; when cost
  cannot break the tie either, the status is `insufficient_evidence` with the cases needed to separate them.
- minimize_cost / minimize_latency: the cheapest / fastest feasible candidate, compared on quality with
  the best-quality feasible alternative, so the statement says whether it gives up anything measurable.
- No feasible candidate: `insufficient_evidence`, and the fewest cases that would make one feasible if
  its estimates held.
- Fallbacks: the next feasible candidates in objective order, the first from another provider if any.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.routing.candidates import PER_1K, Observation, candidate_stats, check_constraints
from shared.routing.models import (
    Candidate,
    CandidateStats,
    CasesNeeded,
    ConstraintCheck,
    Decision,
    DecisionRequest,
    DecisionStatus,
    Evidence,
    Gap,
    Objective,
)
from shared.routing.pareto import Point, frontier
from shared.stats.compare import Comparison, compare_cases
from shared.stats.power import (
    additional_cases_needed,
    cases_needed,
    cases_needed_for_bound,
    cases_needed_for_mean_bound,
)

MAX_FALLBACKS = 5


@dataclass(frozen=True)
class Pool:
    """One candidate's observations pooled over the evidence runs."""

    target: str
    provider: str
    model: str
    observations: Sequence[Observation]


def _quality(stats: CandidateStats) -> float:
    return stats.pass_rate.value if stats.pass_rate else -math.inf


def _cost(stats: CandidateStats) -> float:
    # Unpriced results make the cost unknown, which must never look cheap.
    return float(stats.cost_per_1k_usd) if stats.cost_per_1k_usd is not None and not stats.unpriced else math.inf


def _latency(stats: CandidateStats) -> float:
    return stats.latency_p95_ms if stats.latency_p95_ms is not None else math.inf


def objective_key(objective: Objective, stats: CandidateStats) -> tuple[float, float, float, str]:
    """Sort key: the objective first, then the other two, then the name (so the order is total)."""
    q, c, lat = -_quality(stats), _cost(stats), _latency(stats)
    if objective is Objective.MINIMIZE_COST:
        return c, q, lat, stats.target
    if objective is Objective.MINIMIZE_LATENCY:
        return lat, q, c, stats.target
    return q, c, lat, stats.target


def _outcomes(observations: Sequence[Observation]) -> dict[str, list[float]]:
    # As in run comparisons: judged answers only; errors count against `max_error_rate`, not quality.
    cases: dict[str, list[float]] = defaultdict(list)
    for o in observations:
        if not o.error and o.passed is not None:
            cases[o.case_key].append(1.0 if o.passed else 0.0)
    return cases


def compare_pools(a: Pool, b: Pool, confidence: float, seed: int = 0) -> Comparison | None:
    """A against B on pass rate over their shared cases; None when they share no judged case."""
    try:
        return compare_cases(
            _outcomes(a.observations),
            _outcomes(b.observations),
            binary=True,
            label_a=a.target,
            label_b=b.target,
            confidence=confidence,
            seed=seed,
        )
    except ValueError:
        return None


def separation_needed(comparison: Comparison) -> CasesNeeded:
    """Paired cases needed to tell the two apart at the comparison's level (80% power), if the rates held."""
    d = comparison.mean_a - comparison.mean_b
    psi: float | None = None
    if comparison.a_only is not None and comparison.b_only is not None:
        psi = max((comparison.a_only + comparison.b_only) / comparison.n_shared, abs(d))
    needed = (
        None
        if d == 0
        else cases_needed(comparison.mean_a, comparison.mean_b, 1 - comparison.confidence, discordant_rate=psi)
    )
    return CasesNeeded(
        question=f"shared cases to tell {comparison.label_a} and {comparison.label_b} apart on pass rate",
        target=None,
        cases_needed=needed,
        cases_missing=additional_cases_needed(needed, comparison.n_shared),
    )


def _needed_for_check(check: ConstraintCheck, pool: Pool, confidence: float) -> int | None:
    """Cases at which this failed check would pass if the estimate held; None when none would."""
    if check.estimate is None:
        return None
    if check.constraint == "min_quality":
        return cases_needed_for_bound(check.estimate, check.limit, confidence, "lower")
    if check.constraint == "max_error_rate":
        return cases_needed_for_bound(check.estimate, check.limit, confidence, "upper")
    if check.constraint == "max_p95_latency_ms":
        # The p95 bound is under the limit once the share of timings under the limit is, on its Wilson
        # lower bound, at least 0.95 (the order-statistic bound and the binomial count are the same event).
        timed = [o.latency_ms for o in pool.observations if o.latency_ms is not None]
        share = sum(1 for t in timed if t <= check.limit) / len(timed) if timed else 0.0
        return cases_needed_for_bound(share, 0.95, confidence, "lower")
    costs = [float(o.cost_usd) * float(PER_1K) for o in pool.observations if o.cost_usd is not None]
    if len(costs) < 2 or (check.reason is not None and "no price" in check.reason):
        return None
    return cases_needed_for_mean_bound(
        statistics.fmean(costs), statistics.stdev(costs), check.limit, confidence, "upper"
    )


def feasibility_needed(candidates: Sequence[Candidate], pools: dict[str, Pool], confidence: float) -> CasesNeeded:
    """The candidate closest to feasible: the fewest cases at which all its failed checks would pass."""
    best: tuple[int, Candidate] | None = None
    for candidate in candidates:
        needs = [_needed_for_check(c, pools[candidate.stats.target], confidence) for c in candidate.checks if not c.met]
        if not needs or any(n is None for n in needs):
            continue
        total = max(n for n in needs if n is not None)
        if best is None or total - candidate.stats.n < best[0] - best[1].stats.n:
            best = (total, candidate)
    if best is None:
        return CasesNeeded(
            question="cases for a candidate to meet every constraint",
            target=None,
            cases_needed=None,
            cases_missing=None,
        )
    total, candidate = best
    return CasesNeeded(
        question="cases for a candidate to meet every constraint",
        target=candidate.stats.target,
        cases_needed=total,
        cases_missing=additional_cases_needed(total, candidate.stats.n),
    )


def _gap(chosen: CandidateStats, other: CandidateStats) -> Gap:
    def diff(a: float | None, b: float | None) -> float | None:
        return a - b if a is not None and b is not None else None

    cost = None
    if chosen.cost_per_1k_usd is not None and other.cost_per_1k_usd is not None:
        cost = chosen.cost_per_1k_usd - other.cost_per_1k_usd
    return Gap(
        target=other.target,
        quality_diff=diff(
            chosen.pass_rate.value if chosen.pass_rate else None, other.pass_rate.value if other.pass_rate else None
        ),
        cost_per_1k_diff_usd=cost,
        p95_latency_diff_ms=diff(chosen.latency_p95_ms, other.latency_p95_ms),
    )


def fallbacks_of(chosen: CandidateStats, ordered: Sequence[CandidateStats]) -> list[str]:
    """The next feasible candidates in objective order; the first from another provider when one exists,
    so an outage of the chosen provider does not take the first fallback with it."""
    rest = [s for s in ordered if s.target != chosen.target]
    other = next((s for s in rest if s.provider != chosen.provider), None)
    if other is not None:
        rest = [other, *(s for s in rest if s is not other)]
    return [s.target for s in rest[:MAX_FALLBACKS]]


def describe(stats: CandidateStats) -> str:
    """One line of a candidate's numbers for the rationale."""
    parts = [f"n={stats.n}"]
    if stats.pass_rate:
        r = stats.pass_rate
        parts.append(f"pass rate {r.value:.3f} [{r.low:.3f}, {r.high:.3f}]")
    if stats.cost_per_1k_usd is not None:
        parts.append(f"{float(stats.cost_per_1k_usd):.4g} USD per 1k requests")
    if stats.latency_p95_ms is not None:
        parts.append(f"p95 {stats.latency_p95_ms:.0f} ms")
    return f"{stats.target} ({', '.join(parts)})"


@dataclass
class _Choice:
    chosen: CandidateStats
    status: DecisionStatus
    comparison: Comparison | None
    statement: str
    needed: CasesNeeded | None


def _choose_quality(ordered: list[CandidateStats], pools: dict[str, Pool], confidence: float) -> _Choice:
    top = ordered[0]
    if len(ordered) == 1:
        return _Choice(
            top, DecisionStatus.DECIDED, None, f"{top.target} is the only candidate that meets every constraint.", None
        )
    runner = ordered[1]
    comparison = compare_pools(pools[top.target], pools[runner.target], confidence)
    if comparison is None:
        statement = f"{top.target} and {runner.target} share no judged case, so they cannot be compared paired"
        return _choose_on_cost(top, runner, None, statement, None)
    if comparison.verdict == "a_better":
        return _Choice(top, DecisionStatus.DECIDED, comparison, comparison.statement + ".", None)
    if comparison.verdict == "b_better":
        return _Choice(runner, DecisionStatus.DECIDED, comparison, comparison.statement + ".", None)
    return _choose_on_cost(top, runner, comparison, comparison.statement, separation_needed(comparison))


def _choose_on_cost(
    top: CandidateStats,
    runner: CandidateStats,
    comparison: Comparison | None,
    statement: str,
    needed: CasesNeeded | None,
) -> _Choice:
    """Quality cannot separate the top two: the cheaper one, or insufficient evidence when cost cannot either."""
    if _cost(runner) < _cost(top):
        return _Choice(
            runner, DecisionStatus.DECIDED, comparison, f"{statement}, so the cheaper one: {runner.target}.", needed
        )
    if _cost(top) < _cost(runner):
        return _Choice(
            top, DecisionStatus.DECIDED, comparison, f"{statement}, so the cheaper one: {top.target}.", needed
        )
    return _Choice(
        top,
        DecisionStatus.INSUFFICIENT_EVIDENCE,
        comparison,
        f"{statement}, and cost does not separate them either; {top.target} is chosen provisionally on its "
        "point estimate.",
        needed,
    )


def _choose_first(
    objective: Objective, ordered: list[CandidateStats], pools: dict[str, Pool], confidence: float
) -> _Choice:
    """Cost or latency: the first in order; say what it gives up in quality against the best alternative."""
    chosen = ordered[0]
    what = "cheapest" if objective is Objective.MINIMIZE_COST else "fastest (p95)"
    others = sorted(ordered[1:], key=lambda s: objective_key(Objective.MAXIMIZE_QUALITY, s))
    if not others:
        return _Choice(
            chosen,
            DecisionStatus.DECIDED,
            None,
            f"{chosen.target} is the only candidate that meets every constraint.",
            None,
        )
    best = others[0]
    comparison = compare_pools(pools[chosen.target], pools[best.target], confidence)
    if comparison is None:
        statement = (
            f"{chosen.target} is the {what} candidate that meets every constraint; "
            f"it shares no judged case with {best.target}."
        )
    elif comparison.verdict == "no_significant_difference":
        statement = f"{comparison.statement}, so the {what} one: {chosen.target}."
    elif comparison.verdict == "b_better":
        statement = (
            f"{comparison.statement}; {chosen.target} is chosen because it is the {what} candidate that meets "
            "every constraint."
        )
    else:
        statement = f"{comparison.statement}, and it is also the {what}."
    return _Choice(chosen, DecisionStatus.DECIDED, comparison, statement, None)


def _rationale(
    request: DecisionRequest, candidates: Sequence[Candidate], choice: _Choice | None, fallbacks: list[str]
) -> str:
    level = f"{request.confidence:.0%}"
    feasible = [c for c in candidates if c.feasible]
    sentences = [
        f"Objective: {request.objective.value.replace('_', ' ')}; constraints are checked on interval bounds at "
        f"{level} confidence.",
        f"{len(feasible)} of {len(candidates)} candidate(s) meet every constraint.",
    ]
    for c in candidates:
        if not c.feasible:
            failed = [check.reason or check.constraint for check in c.checks if not check.met]
            reasons = "; ".join(failed) if failed else "no results in the evidence"
            sentences.append(f"Excluded {c.stats.target}: {reasons}.")
    if choice is None:
        sentences.append("No candidate is chosen: the evidence does not show any of them meeting the constraints.")
        return " ".join(sentences)
    sentences.append(f"Chosen: {describe(choice.chosen)}.")
    sentences.append(choice.statement)
    if fallbacks:
        sentences.append(f"Fallbacks in order: {', '.join(fallbacks)}.")
    return " ".join(sentences)


def decide(
    request: DecisionRequest,
    pools: Sequence[Pool],
    evidence: Evidence,
    *,
    decision_id: str,
    project_id: str,
    decided_at: datetime,
    seed: int = 0,
) -> Decision:
    """Decide the route of `request.task` from the candidates' pooled observations (see the module rules)."""
    by_key = {p.target: p for p in pools}
    candidates: list[Candidate] = []
    for pool in pools:
        stats = candidate_stats(pool.target, pool.provider, pool.model, pool.observations, request.confidence, seed)
        checks = check_constraints(stats, request.constraints)
        candidates.append(Candidate(stats=stats, checks=checks, feasible=all(c.met for c in checks) and stats.n > 0))
    # Pareto on point estimates: it shows the trade-offs, while feasibility is judged on bounds.
    on_frontier = set(
        frontier(
            [
                Point(
                    c.stats.target,
                    c.stats.pass_rate.value if c.stats.pass_rate else None,
                    _cost(c.stats) if math.isfinite(_cost(c.stats)) else None,
                    c.stats.latency_p95_ms,
                )
                for c in candidates
                if c.stats.n > 0
            ]
        )
    )
    candidates = [c.model_copy(update={"pareto": c.stats.target in on_frontier}) for c in candidates]
    ordered = sorted((c.stats for c in candidates if c.feasible), key=lambda s: objective_key(request.objective, s))

    choice: _Choice | None = None
    fallbacks: list[str] = []
    if ordered:
        if request.objective is Objective.MAXIMIZE_QUALITY:
            choice = _choose_quality(ordered, by_key, request.confidence)
        else:
            choice = _choose_first(request.objective, ordered, by_key, request.confidence)
        fallbacks = fallbacks_of(choice.chosen, ordered)

    measured = [c.stats for c in candidates if c.stats.n > 0]
    gap_best = gap_cheapest = None
    if choice is not None:
        with_quality = [s for s in measured if s.pass_rate is not None]
        if with_quality:
            gap_best = _gap(choice.chosen, max(with_quality, key=lambda s: (_quality(s), -_cost(s))))
        priced = [s for s in measured if math.isfinite(_cost(s))]
        if priced:
            gap_cheapest = _gap(choice.chosen, min(priced, key=lambda s: (_cost(s), -_quality(s))))

    if choice is None:
        status = DecisionStatus.INSUFFICIENT_EVIDENCE
        needed: CasesNeeded | None = feasibility_needed(candidates, by_key, request.confidence)
        statement = f"No candidate meets every constraint on its {request.confidence:.0%} bounds."
        if needed is not None and needed.cases_missing is not None:
            statement += (
                f" About {needed.cases_missing} more case(s) of {needed.target} would do if its estimates held."
            )
    else:
        status, needed, statement = choice.status, choice.needed, choice.statement
    return Decision(
        decision_id=decision_id,
        project_id=project_id,
        task=request.task,
        decided_at=decided_at,
        expires_at=decided_at + timedelta(days=request.expires_in_days),
        objective=request.objective,
        constraints=request.constraints,
        confidence=request.confidence,
        status=status,
        chosen=choice.chosen.target if choice else None,
        fallbacks=fallbacks,
        pareto_frontier=[c.stats.target for c in candidates if c.pareto],
        candidates=candidates,
        gap_to_best_quality=gap_best,
        gap_to_cheapest=gap_cheapest,
        comparison=choice.comparison if choice else None,
        confidence_statement=statement,
        rationale=_rationale(request, candidates, choice, fallbacks),
        cases_needed=needed,
        evidence=evidence,
    )
