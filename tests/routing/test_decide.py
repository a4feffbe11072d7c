"""The decision on results built so the answer is known."""

from __future__ import annotations

from typing import Any

from shared.routing.candidates import min_cases_for_p95_bound, p95_upper_bound
from shared.routing.decide import Pool, decide
from shared.routing.models import Decision, DecisionRequest, DecisionStatus
from shared.routing.pareto import Point, frontier
from shared.stats.power import cases_needed_for_bound
from tests.routing.builders import NOW, evidence, pool


def run(pools: list[Pool], **request: Any) -> Decision:
    body = DecisionRequest.model_validate({"task": "t", "evidence": {"runs": ["run_aaaaaaaaaaaaaaaaaaaa"]}, **request})
    return decide(body, pools, evidence(*pools), decision_id="rdc_aaaaaaaaaaaaaaaaaaaa", project_id="p", decided_at=NOW)


def candidate(decision: Decision, target: str) -> Any:
    return next(c for c in decision.candidates if c.stats.target == target)


def test_minimize_cost_chooses_a_cheaper_model_equal_within_noise() -> None:
    # 180 vs 176 of 200: 4 discordant cases, McNemar p = 0.125, so no significant difference.
    pricey = pool("openai:big", passes=180, cost="0.004")
    cheap = pool("openai:small", passes=176, cost="0.0005")
    decision = run([pricey, cheap], objective="minimize_cost", constraints={"min_quality": 0.8})
    assert decision.status is DecisionStatus.DECIDED
    assert decision.chosen == "openai:small"
    assert decision.comparison is not None
    assert decision.comparison.verdict == "no_significant_difference"
    assert "No significant difference" in decision.confidence_statement
    assert "cheapest one: openai:small" in decision.confidence_statement
    assert decision.fallbacks == ["openai:big"]
    assert decision.gap_to_cheapest is not None
    assert decision.gap_to_cheapest.target == "openai:small"
    assert decision.gap_to_best_quality is not None
    assert decision.gap_to_best_quality.target == "openai:big"
    assert abs((decision.gap_to_best_quality.quality_diff or 0) - (-0.02)) < 1e-9


def test_maximize_quality_without_significant_difference_prefers_the_cheaper() -> None:
    decision = run(
        [pool("openai:big", passes=180, cost="0.004"), pool("openai:small", passes=176, cost="0.0005")],
        objective="maximize_quality",
    )
    assert decision.chosen == "openai:small"
    assert decision.status is DecisionStatus.DECIDED
    assert "so the cheaper one: openai:small" in decision.confidence_statement
    # Informational: how many shared cases would tell them apart.
    assert decision.cases_needed is not None
    assert (decision.cases_needed.cases_missing or 0) > 0


def test_maximize_quality_with_a_significant_winner_says_with_what_probability() -> None:
    decision = run(
        [pool("openai:big", passes=190, cost="0.004"), pool("openai:small", passes=120, cost="0.0005")],
        objective="maximize_quality",
    )
    assert decision.chosen == "openai:big"
    assert "openai:big beats openai:small on pass rate with probability" in decision.confidence_statement


def test_a_model_that_breaks_the_latency_bound_is_excluded() -> None:
    fast = pool("openai:fast", passes=170, latency_ms=200)
    # Every 10th call takes 9 s: the p95 and its upper bound are far above 1 s.
    slow = pool("anthropic:slow", passes=195, latency_ms=200, slow_every=10, slow_ms=9000)
    decision = run([fast, slow], objective="maximize_quality", constraints={"max_p95_latency_ms": 1000})
    assert decision.chosen == "openai:fast"
    excluded = candidate(decision, "anthropic:slow")
    assert not excluded.feasible
    check = excluded.checks[0]
    assert check.constraint == "max_p95_latency_ms"
    assert not check.met
    assert "p95 latency upper bound" in (check.reason or "")
    assert "Excluded anthropic:slow" in decision.rationale
    assert decision.fallbacks == []


def test_a_constraint_met_on_the_mean_but_not_on_the_bound_is_not_met() -> None:
    # 17 of 20 = 0.85 is above 0.8, but the Wilson lower bound (about 0.64) is not.
    thin = pool("openai:thin", passes=17, n=20)
    decision = run([thin], objective="minimize_cost", constraints={"min_quality": 0.8})
    check = candidate(decision, "openai:thin").checks[0]
    assert check.estimate == 0.85
    assert check.bound is not None
    assert check.bound < 0.8
    assert not check.met
    assert "the estimate 0.85 is within it, but not the bound" in (check.reason or "")
    # ... and with nothing feasible the decision says the evidence is too thin, and by how much.
    assert decision.status is DecisionStatus.INSUFFICIENT_EVIDENCE
    assert decision.chosen is None
    needed = decision.cases_needed
    assert needed is not None
    assert needed.target == "openai:thin"
    expected = cases_needed_for_bound(0.85, 0.8, 0.95, "lower")
    assert expected is not None
    assert needed.cases_needed == expected
    assert needed.cases_missing == expected - 20
    assert f"About {expected - 20} more case(s)" in decision.confidence_statement


def test_error_rate_is_checked_on_the_wilson_upper_bound() -> None:
    # 2 errors of 100: 2% observed, upper bound about 7%.
    decision = run([pool("openai:a", passes=90, n=100, errors=2)], constraints={"max_error_rate": 0.05})
    check = candidate(decision, "openai:a").checks[0]
    assert check.estimate == 0.02
    assert check.bound is not None
    assert check.bound > 0.05
    assert not check.met


def test_top_two_inseparable_at_equal_cost_is_insufficient_evidence() -> None:
    decision = run(
        [pool("openai:a", passes=18, n=20, cost="0.001"), pool("anthropic:b", passes=17, n=20, cost="0.001")],
        objective="maximize_quality",
    )
    assert decision.status is DecisionStatus.INSUFFICIENT_EVIDENCE
    assert decision.chosen == "openai:a"  # provisional, on the point estimate
    assert decision.cases_needed is not None
    assert decision.cases_needed.cases_needed is not None
    assert decision.cases_needed.cases_needed > 20


def test_fallbacks_prefer_another_provider_first() -> None:
    decision = run(
        [
            pool("openai:a", passes=195, cost="0.003"),
            pool("openai:b", passes=150, cost="0.002"),
            pool("anthropic:c", passes=120, cost="0.001"),
        ],
        objective="maximize_quality",
    )
    assert decision.chosen == "openai:a"
    assert decision.fallbacks == ["anthropic:c", "openai:b"]


def test_pareto_frontier_on_a_hand_example() -> None:
    points = [
        Point("a", 0.9, 2.0, 100.0),
        Point("b", 0.8, 1.0, 100.0),
        Point("c", 0.7, 1.5, 200.0),  # b is better on all three
        Point("d", 0.9, 2.0, 150.0),  # a is as good and faster
        Point("e", 0.95, 5.0, 300.0),  # the best quality, at a price
        Point("f", None, 0.1, 50.0),  # unmeasured quality, but cheapest and fastest
    ]
    assert frontier(points) == ["a", "b", "e", "f"]


def test_pareto_frontier_in_a_decision() -> None:
    decision = run(
        [
            pool("openai:a", passes=190, cost="0.002", latency_ms=100),
            pool("openai:b", passes=170, cost="0.001", latency_ms=100),
            pool("openai:c", passes=150, cost="0.0015", latency_ms=300),
        ]
    )
    assert decision.pareto_frontier == ["openai:a", "openai:b"]
    assert [c.pareto for c in decision.candidates] == [True, True, False]


def test_p95_bound_needs_enough_timings() -> None:
    assert min_cases_for_p95_bound(0.95) == 72  # 0.95^72 <= 0.025 < 0.95^71
    assert p95_upper_bound([100.0] * 71, 0.95) is None
    assert p95_upper_bound([float(i) for i in range(72)], 0.95) == 71.0
    many = [float(i) for i in range(1000)]
    bound = p95_upper_bound(many, 0.95)
    assert bound is not None
    assert 950 <= bound <= 975
