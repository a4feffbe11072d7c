"""Statistics of a run: a summary per target and a paired comparison of two targets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from shared.runs.models import ItemStatus, ResultRecord, RunRecord
from shared.runs.sharding import target_id
from shared.stats.compare import Comparison, compare_cases
from shared.stats.summary import ItemOutcome, TargetSummary, summarize_target


def outcome(row: ResultRecord) -> ItemOutcome:
    """What the statistics need of one result row."""
    cost = None
    if row.cost_usd is not None or row.judge_cost_usd is not None:
        cost = Decimal(row.cost_usd or 0) + Decimal(row.judge_cost_usd or 0)
    return ItemOutcome(
        score=row.score,
        passed=row.passed,
        error=row.status is ItemStatus.ERROR,
        latency_ms=row.latency_ms,
        ttft_ms=row.ttft_ms,
        output_tokens=row.output_tokens,
        cost=cost,
        retries=row.retries,
    )


def summarize_run(run: RunRecord, rows: Iterable[ResultRecord]) -> dict[str, TargetSummary]:
    """A summary per target id, for every target of the run (empty targets included)."""
    by_target: dict[str, list[ItemOutcome]] = defaultdict(list)
    for row in rows:
        by_target[row.target_id].append(outcome(row))
    return {
        target_id(index): summarize_target(by_target.get(target_id(index), []), seed=run.seed)
        for index in range(len(run.targets))
    }


def compare_targets(run: RunRecord, rows: Iterable[ResultRecord], a: str, b: str, *, metric: str) -> Comparison:
    """Compare targets `a` and `b` on the cases both answered (`metric`: "pass" or "score")."""
    outcomes: dict[str, dict[str, list[float]]] = {a: defaultdict(list), b: defaultdict(list)}
    for row in rows:
        if row.target_id in outcomes and row.status is ItemStatus.OK and row.score is not None:
            value = (1.0 if row.passed else 0.0) if metric == "pass" else row.score
            outcomes[row.target_id][row.case_id].append(value)
    labels = {target_id(i): t.display for i, t in enumerate(run.targets)}
    return compare_cases(
        outcomes[a],
        outcomes[b],
        binary=metric == "pass",
        label_a=labels.get(a, a),
        label_b=labels.get(b, b),
        metric="pass rate" if metric == "pass" else "mean score",
        seed=run.seed,
    )
