"""A target's summary on a worked example whose every number is computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.stats.intervals import wilson_interval
from shared.stats.summary import ItemOutcome, summarize_target

ITEMS = [
    # score, passed, error, latency, ttft, output tokens, cost, retries
    ItemOutcome(1.0, True, False, 1000.0, 200.0, 80, Decimal("0.0010"), 0),
    ItemOutcome(0.5, False, False, 1500.0, 300.0, 120, Decimal("0.0015"), 1),
    ItemOutcome(1.0, True, False, 800.0, None, 40, Decimal("0.0008"), 0),  # not streamed: no TTFT
    ItemOutcome(0.0, False, False, 2000.0, 500.0, 150, None, 0),  # unpriced
    ItemOutcome(None, None, True, 3000.0, None, None, Decimal("0"), 2),  # errored, not billed
]


def test_worked_example() -> None:
    s = summarize_target(ITEMS)
    assert (s.n, s.n_scored, s.errors) == (5, 4, 1)

    assert s.mean_score is not None
    assert s.mean_score.value == pytest.approx(0.625)  # (1 + 0.5 + 1 + 0) / 4
    assert 0.0 <= s.mean_score.low <= 0.625 <= s.mean_score.high <= 1.0

    assert s.pass_rate is not None
    assert s.pass_rate.value == 0.5  # 2 of 4 scored items
    assert (s.pass_rate.low, s.pass_rate.high) == wilson_interval(2, 4)

    assert s.error_rate is not None
    assert s.error_rate.value == 0.2
    assert (s.error_rate.low, s.error_rate.high) == wilson_interval(1, 5)

    # Latencies sorted: 800, 1000, 1500, 2000, 3000. p50 = 1500; p95 rank 3.8: 2000 + 0.8 * 1000 = 2800.
    assert s.latency_p50_ms == 1500
    assert s.latency_p95_ms == pytest.approx(2800)
    # TTFTs 200, 300, 500: p50 = 300.
    assert s.ttft_p50_ms == 300
    # Streamed items with tokens: (80 + 120 + 150) tokens over (800 + 1200 + 1500) ms = 100 tokens/s.
    assert s.tokens_per_second == pytest.approx(100.0)

    # Priced: 0.0010 + 0.0015 + 0.0008 + 0 = 0.0033 over 4 priced items; one unpriced.
    assert s.cost_total == Decimal("0.0033")
    assert s.cost_per_case == Decimal("0.000825")
    assert s.unpriced_items == 1
    assert s.retries_total == 3


def test_empty_target() -> None:
    s = summarize_target([])
    assert (s.n, s.n_scored, s.errors, s.unpriced_items, s.retries_total) == (0, 0, 0, 0, 0)
    assert s.mean_score is None
    assert s.pass_rate is None
    assert s.error_rate is None
    assert s.latency_p50_ms is None
    assert s.tokens_per_second is None
    assert s.cost_total is None
    assert s.cost_per_case is None


def test_all_errors() -> None:
    s = summarize_target([ItemOutcome(None, None, error=True, retries=3)] * 4)
    assert s.mean_score is None
    assert s.pass_rate is None
    assert s.error_rate is not None
    assert s.error_rate.value == 1.0
    assert s.error_rate.high == 1.0
    assert s.unpriced_items == 4
    assert s.cost_total is None


def test_single_item_interval_is_the_whole_range() -> None:
    s = summarize_target([ItemOutcome(0.8, True)])
    assert s.mean_score is not None
    assert (s.mean_score.low, s.mean_score.high) == (0.0, 1.0)


def test_deterministic_and_serializable() -> None:
    first, second = summarize_target(ITEMS, seed=4), summarize_target(ITEMS, seed=4)
    assert first == second
    dumped = first.model_dump(mode="json")
    assert dumped["cost_total"] == "0.0033"
    assert dumped["pass_rate"]["confidence"] == 0.95
