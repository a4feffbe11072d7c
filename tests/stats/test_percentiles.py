"""Exact percentiles against numpy; the quantile sketch within its promised relative error of exact
quantiles on lognormal latencies, and merge equal to the sketch of the union."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.stats.percentiles import QuantileSketch, percentile

QUICK = settings(database=None, deadline=None, max_examples=60)


class TestPercentile:
    def test_worked_example(self) -> None:
        # rank 0.9 * 3 = 2.7: 30 + 0.7 * (40 - 30) = 37.
        assert percentile([40, 10, 30, 20], 90) == pytest.approx(37)
        assert percentile([5], 50) == 5
        assert percentile([1, 2], 50) == 1.5

    @QUICK
    @given(
        st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=200),
        st.floats(min_value=0, max_value=100),
    )
    def test_matches_numpy_default(self, values: list[float], q: float) -> None:
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)

    def test_invalid(self) -> None:
        with pytest.raises(ValueError, match="no values"):
            percentile([], 50)
        with pytest.raises(ValueError, match=r"\[0, 100\]"):
            percentile([1.0], 101)


def lognormal(size: int, seed: int) -> np.ndarray:
    # Latency-like: median e^5.5 = 245 ms, a long right tail.
    return np.random.default_rng(seed).lognormal(mean=5.5, sigma=0.8, size=size)


class TestSketch:
    QUANTILES = (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999)

    def test_quantiles_within_relative_accuracy_on_lognormal_data(self) -> None:
        values = lognormal(20_000, seed=11)
        sketch = QuantileSketch.of(values.tolist())
        for q in self.QUANTILES:
            estimate = sketch.quantile(q)
            assert estimate is not None
            # The promise: within 1% of the value of rank floor(q (n - 1)).
            exact_lower = float(np.quantile(values, q, method="lower"))
            assert abs(estimate - exact_lower) <= 0.01 * exact_lower * (1 + 1e-9), q
            # And hence close to numpy's interpolated percentile (neighbouring ranks are very close here).
            assert estimate == pytest.approx(float(np.percentile(values, q * 100)), rel=0.015)

    def test_min_max_count_sum_mean_are_exact(self) -> None:
        values = lognormal(1000, seed=2)
        sketch = QuantileSketch.of(values.tolist())
        assert sketch.quantile(0) == values.min()
        assert sketch.quantile(1) == values.max()
        assert sketch.count == 1000
        assert sketch.sum == pytest.approx(float(values.sum()))
        assert sketch.mean == pytest.approx(float(values.mean()))

    def test_merge_equals_the_sketch_of_the_union(self) -> None:
        hour_1, hour_2 = lognormal(5000, seed=1).tolist(), lognormal(7000, seed=2).tolist()
        merged = QuantileSketch.of(hour_1)
        merged.merge(QuantileSketch.of(hour_2))
        union = QuantileSketch.of(hour_1 + hour_2)
        left, right = merged.to_dict(), union.to_dict()
        # Float sums differ in the last bits with the order of addition; everything else is identical.
        assert left.pop("s") == pytest.approx(right.pop("s"), rel=1e-12)
        assert left == right
        for q in self.QUANTILES:
            assert merged.quantile(q) == union.quantile(q)

    def test_rolls_hours_into_a_day_through_storage(self) -> None:
        hours = [lognormal(500, seed=h).tolist() for h in range(24)]
        day = QuantileSketch()
        for hour in hours:
            stored = json.dumps(QuantileSketch.of(hour).to_dict())  # as written to a Table row
            day.merge(QuantileSketch.from_dict(json.loads(stored)))
        everything = np.concatenate([np.array(h) for h in hours])
        assert day.count == len(everything)
        p95 = day.quantile(0.95)
        assert p95 is not None
        assert abs(p95 - float(np.quantile(everything, 0.95, method="lower"))) <= 0.01 * p95 * 1.01

    def test_serialized_form_is_compact_and_round_trips(self) -> None:
        sketch = QuantileSketch.of(lognormal(20_000, seed=4).tolist())
        encoded = json.dumps(sketch.to_dict(), separators=(",", ":"))
        assert len(encoded) < 4000  # fits easily in a 64 KiB Table property
        assert QuantileSketch.from_dict(json.loads(encoded)) == sketch

    def test_zeros_and_empty(self) -> None:
        empty = QuantileSketch()
        assert empty.quantile(0.5) is None
        assert empty.mean is None
        assert QuantileSketch.from_dict(empty.to_dict()) == empty
        zeros = QuantileSketch.of([0.0, 0.0, 0.0, 100.0])
        assert zeros.quantile(0.5) == 0.0
        assert zeros.quantile(1) == 100.0
        assert zeros.zero_count == 3

    @pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
    def test_refuses_negative_and_non_finite_values(self, bad: float) -> None:
        with pytest.raises(ValueError, match="finite and >= 0"):
            QuantileSketch().add(bad)

    def test_refuses_merging_different_accuracies(self) -> None:
        with pytest.raises(ValueError, match="different relative accuracy"):
            QuantileSketch(0.01).merge(QuantileSketch(0.02))

    def test_collapsing_keeps_high_quantiles_accurate(self) -> None:
        values = [10.0**e for e in np.linspace(-6, 6, 5000)]
        sketch = QuantileSketch.of(values)
        small = QuantileSketch(max_bins=100)
        for value in values:
            small.add(value)
        assert len(small.to_dict()["c"]) <= 100
        assert small.count == 5000
        assert small.quantile(0.99) == sketch.quantile(0.99)
        assert small.quantile(0.99) == pytest.approx(float(np.quantile(values, 0.99, method="lower")), rel=0.01)

    @pytest.mark.parametrize(
        "data",
        [
            {"v": 2},
            {"v": 1, "ra": 0.01, "n": 3, "s": 1.0, "z": 0, "o": 0, "c": [1, 1], "min": 1.0, "max": 2.0},
            {"v": 1, "ra": 0.01, "n": 1, "s": 1.0, "z": 0, "o": 0, "c": [-1, 2], "min": 1.0, "max": 1.0},
            {"v": 1, "ra": 0.01, "n": 1, "s": 1.0, "z": 0, "o": "0", "c": [1], "min": 1.0, "max": 1.0},
            {"v": 1, "ra": 2, "n": 0, "s": 0.0, "z": 0},
            {"v": 1, "ra": 0.01, "n": 1, "s": 1.0, "z": 1, "min": 2.0, "max": 1.0},
        ],
    )
    def test_from_dict_refuses_inconsistent_data(self, data: dict[str, object]) -> None:
        with pytest.raises(ValueError, match=r"sketch|relative_accuracy"):
            QuantileSketch.from_dict(data)

    @QUICK
    @given(
        st.lists(st.floats(min_value=0, max_value=1e6), max_size=50),
        st.lists(st.floats(min_value=0, max_value=1e6), max_size=50),
    )
    def test_merge_is_commutative(self, a: list[float], b: list[float]) -> None:
        ab, ba = QuantileSketch.of(a), QuantileSketch.of(b)
        ab.merge(QuantileSketch.of(b))
        ba.merge(QuantileSketch.of(a))
        left, right = ab.to_dict(), ba.to_dict()
        assert left.pop("s") == pytest.approx(right.pop("s"))
        assert left == right
