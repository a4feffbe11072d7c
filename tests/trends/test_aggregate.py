"""The Aggregate: merging is associative and equals aggregating the union; metrics match values computed
independently (numpy, statistics); its JSON round-trips and fits a table property."""

from __future__ import annotations

import json
import random
import statistics
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from shared.runs.models import ItemStatus, ResultRecord
from shared.stats.intervals import wilson_interval
from shared.trends.aggregate import MAX_JSON_CHARS, METRICS, SKETCH_ACCURACY, Aggregate

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def row(
    index: int,
    *,
    score: float | None = None,
    passed: bool | None = None,
    latency: float | None = None,
    ttft: float | None = None,
    tokens: int | None = None,
    cost: str | None = None,
    error: bool = False,
    model_version: str | None = None,
) -> ResultRecord:
    return ResultRecord(
        partition_key="p",
        row_key=f"c{index}~000",
        target_id="t00",
        case_id=f"c{index}",
        trial=0,
        status=ItemStatus.ERROR if error else ItemStatus.OK,
        score=score,
        passed=passed,
        latency_ms=latency,
        ttft_ms=ttft,
        output_tokens=tokens,
        cost_usd=cost,
        priced=cost is not None,
        model_version=model_version,
        completed_at=NOW,
    )


def random_rows(seed: int, count: int) -> list[ResultRecord]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        error = rng.random() < 0.1
        score = None if error else rng.random()
        rows.append(
            row(
                index,
                score=score,
                passed=None if score is None else score > 0.5,
                latency=rng.lognormvariate(6, 0.8),
                ttft=rng.lognormvariate(4, 0.5),
                tokens=rng.randint(1, 500),
                cost=None if rng.random() < 0.2 else f"{rng.randint(1, 5000) / 1e6:.6f}",
                error=error,
                model_version=rng.choice(["v1", "v2"]),
            )
        )
    return rows


def test_merge_is_associative_and_equals_the_union() -> None:
    a, b, c = (random_rows(seed, 300) for seed in (1, 2, 3))
    left = Aggregate.merged(
        [Aggregate.merged([Aggregate.from_results(a), Aggregate.from_results(b)]), Aggregate.from_results(c)]
    )
    right = Aggregate.merged(
        [Aggregate.from_results(a), Aggregate.merged([Aggregate.from_results(b), Aggregate.from_results(c)])]
    )
    union = Aggregate.from_results(a + b + c)
    for merged in (left, right):
        # Counts, the exact cost sum and the sketches' buckets are exact; float sums agree to rounding.
        assert (merged.items, merged.errors, merged.scored, merged.judged, merged.passes, merged.priced) == (
            union.items,
            union.errors,
            union.scored,
            union.judged,
            union.passes,
            union.priced,
        )
        assert merged.cost_sum == union.cost_sum
        assert merged.latency.to_dict()["c"] == union.latency.to_dict()["c"]
        assert merged.ttft.to_dict()["c"] == union.ttft.to_dict()["c"]
        assert merged.model_versions == union.model_versions
        assert merged.score_sum == pytest.approx(union.score_sum, rel=1e-12)
        for name in METRICS:
            mine, theirs = merged.metric(name), union.metric(name)
            assert mine is not None
            assert theirs is not None
            assert mine.value == pytest.approx(theirs.value, rel=1e-9)
            assert mine.n == theirs.n


def test_metrics_agree_with_independent_computation() -> None:
    rows = random_rows(7, 2000)
    aggregate = Aggregate.from_results(rows)
    scores = [r.score for r in rows if r.score is not None]
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    ttfts = [r.ttft_ms for r in rows if r.ttft_ms is not None]
    priced = [Decimal(r.cost_usd) for r in rows if r.cost_usd is not None]

    quality = aggregate.metric("quality")
    assert quality is not None
    assert quality.n == len(scores)
    assert quality.value == pytest.approx(statistics.fmean(scores), rel=1e-12)
    half = 1.959964 * statistics.stdev(scores) / len(scores) ** 0.5
    assert quality.low == pytest.approx(quality.value - half, rel=1e-5)
    assert quality.high == pytest.approx(quality.value + half, rel=1e-5)

    passes = sum(1 for r in rows if r.passed)
    judged = sum(1 for r in rows if r.passed is not None)
    pass_rate = aggregate.metric("pass_rate")
    assert pass_rate is not None
    assert (pass_rate.value, pass_rate.n) == (passes / judged, judged)
    assert (pass_rate.low, pass_rate.high) == wilson_interval(passes, judged)

    errors = aggregate.metric("error_rate")
    assert errors is not None
    assert errors.value == sum(r.status is ItemStatus.ERROR for r in rows) / len(rows)

    # The sketch promises 1% of the value at rank floor(q (n - 1)), numpy's "lower" method.
    for name, values, q in (("latency_p50", latencies, 50), ("latency_p95", latencies, 95), ("ttft_p50", ttfts, 50)):
        metric = aggregate.metric(name)
        exact = float(np.percentile(values, q, method="lower"))
        assert metric is not None
        assert metric.n == len(values)
        assert metric.value == pytest.approx(exact, rel=SKETCH_ACCURACY)
        assert metric.low is not None
        assert metric.high is not None
        assert metric.low <= metric.value <= metric.high

    # Generation speed counts only items whose first token came before the end.
    streamed = [r for r in rows if (r.latency_ms or 0) > (r.ttft_ms or 0)]
    generated = sum(r.output_tokens or 0 for r in streamed)
    seconds = sum((r.latency_ms or 0) - (r.ttft_ms or 0) for r in streamed) / 1000
    tps = aggregate.metric("tokens_per_second")
    assert tps is not None
    assert tps.value == pytest.approx(generated / seconds, rel=1e-9)
    assert tps.low is None

    cost = aggregate.metric("cost_per_case")
    assert cost is not None
    assert cost.n == len(priced) < len(rows)
    assert cost.value == pytest.approx(float(sum(priced) / len(priced)), rel=1e-12)


def test_unpriced_and_empty_cells_report_no_value_rather_than_zero() -> None:
    aggregate = Aggregate.from_results([row(0, score=1.0, passed=True, latency=10.0), row(1, error=True)])
    assert aggregate.metric("cost_per_case") is None
    assert aggregate.metric("tokens_per_second") is None
    assert Aggregate().metric("quality") is None
    one = aggregate.metric("quality")
    assert one is not None
    assert (one.low, one.high, one.n) == (0.0, 1.0, 1)
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        aggregate.metric("speed")


def test_json_round_trips_and_stays_within_a_table_property() -> None:
    aggregate = Aggregate.from_results(random_rows(11, 500))
    assert Aggregate.from_json(aggregate.to_json()) == aggregate
    # Latencies over 12 orders of magnitude fill every sketch bucket; versions that change every call.
    wide = Aggregate.from_results(
        row(i, latency=10 ** (i / 500 - 3), ttft=10 ** (i / 500 - 3), model_version=f"version-{i:05d}")
        for i in range(6000)
    )
    text = wide.to_json()
    assert len(text) <= MAX_JSON_CHARS
    back = Aggregate.from_json(text)
    assert back.latency == wide.latency
    assert back.items == 6000
    assert sum(back.model_versions.values()) < 6000  # only the most seen versions are kept


def test_damaged_json_is_refused() -> None:
    data = json.loads(Aggregate.from_results(random_rows(3, 20)).to_json())
    data["n"] = -1
    with pytest.raises(ValueError, match="count"):
        Aggregate.from_json(json.dumps(data))
    with pytest.raises(ValueError, match="format"):
        Aggregate.from_json(json.dumps({"v": 99}))
