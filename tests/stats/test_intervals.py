"""Wilson and bootstrap intervals, checked against closed forms, scipy, and a coverage simulation."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as sps

from shared.stats import _bootstrap
from shared.stats.intervals import bootstrap_mean_interval, mean, wilson_interval


def wilson_closed_form(k: int, n: int, z: float) -> tuple[float, float]:
    """The textbook formula, written independently: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = p + z**2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - spread) / (1 + z**2 / n), (centre + spread) / (1 + z**2 / n)


class TestWilson:
    def test_worked_example(self) -> None:
        # 8 of 10 at 95%: centre (0.8 + 3.8415/20) / 1.38415 = 0.71671, half-width 0.22658.
        low, high = wilson_interval(8, 10)
        assert low == pytest.approx(0.49016, abs=1e-5)
        assert high == pytest.approx(0.94332, abs=1e-5)

    @pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
    def test_matches_scipy_and_the_closed_form(self, confidence: float) -> None:
        z = float(sps.norm.ppf(1 - (1 - confidence) / 2))
        for n in (1, 2, 5, 13, 40, 250):
            for k in range(n + 1):
                low, high = wilson_interval(k, n, confidence)
                ci = sps.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
                assert low == pytest.approx(float(ci.low), abs=1e-9)
                assert high == pytest.approx(float(ci.high), abs=1e-9)
                ref_low, ref_high = wilson_closed_form(k, n, z)
                assert low == pytest.approx(max(0.0, ref_low), abs=1e-9)
                assert high == pytest.approx(min(1.0, ref_high), abs=1e-9)

    def test_edges(self) -> None:
        assert wilson_interval(0, 0) == (0.0, 1.0)
        assert wilson_interval(0, 20)[0] == 0.0
        assert wilson_interval(20, 20)[1] == 1.0
        # All 20 passed still leaves room below: the lower bound is 20 / (20 + 3.8415) = 0.8389.
        assert wilson_interval(20, 20)[0] == pytest.approx(0.83887, abs=1e-5)

    @pytest.mark.parametrize(
        ("k", "n", "confidence", "message"),
        [(-1, 5, 0.95, "successes"), (6, 5, 0.95, "successes"), (1, 5, 1.0, "confidence"), (1, 5, 0.0, "confidence")],
    )
    def test_invalid(self, k: int, n: int, confidence: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            wilson_interval(k, n, confidence)


class TestBootstrap:
    def test_mean(self) -> None:
        assert mean([0.1, 0.2, 0.3]) == pytest.approx(0.2)
        with pytest.raises(ValueError, match="no values"):
            mean([])

    def test_deterministic_for_a_seed(self) -> None:
        rng = random.Random(1)
        values = [rng.random() for _ in range(60)]
        assert bootstrap_mean_interval(values, seed=7) == bootstrap_mean_interval(values, seed=7)
        assert bootstrap_mean_interval(values, seed=7) != bootstrap_mean_interval(values, seed=8)

    def test_edge_cases(self) -> None:
        with pytest.raises(ValueError, match="no values"):
            bootstrap_mean_interval([])
        # One value says nothing about spread: the whole support, or unbounded without one.
        assert bootstrap_mean_interval([0.7], support=(0.0, 1.0)) == (0.0, 1.0)
        assert bootstrap_mean_interval([0.7]) == (-math.inf, math.inf)
        # Identical values: the percentile bootstrap cannot show spread (a documented limitation).
        same = [0.1, 0.1, 0.1]
        assert bootstrap_mean_interval(same) == (mean(same), mean(same))
        with pytest.raises(ValueError, match="confidence"):
            bootstrap_mean_interval([0.1, 0.2], confidence=1.5)

    def test_bounds_are_clipped_to_the_support(self) -> None:
        low, high = bootstrap_mean_interval([1.0] * 30 + [0.0], support=(0.0, 1.0))
        assert 0.0 <= low <= high <= 1.0

    def test_agrees_with_scipy_percentile_bootstrap(self) -> None:
        rng = np.random.default_rng(3)
        values = rng.beta(2, 5, size=150).tolist()
        ours = bootstrap_mean_interval(values, resamples=5000, seed=1)
        ref = sps.bootstrap((np.array(values),), np.mean, n_resamples=20000, method="percentile", rng=rng)
        # Two Monte Carlo estimates of the same interval: a few thousandths apart on a 0.07-wide interval.
        assert ours[0] == pytest.approx(float(ref.confidence_interval.low), abs=0.004)
        assert ours[1] == pytest.approx(float(ref.confidence_interval.high), abs=0.004)

    def test_covers_the_true_mean_about_95_percent_of_the_time(self) -> None:
        # 300 datasets of 40 draws from Beta(2, 5) (true mean 2/7), seeded: the percentile bootstrap
        # slightly under-covers at this n (about 93%); anything in [0.88, 0.985] is healthy.
        rng = random.Random(2024)
        true_mean = 2 / 7
        covered = 0
        runs = 300
        for run in range(runs):
            values = [rng.betavariate(2, 5) for _ in range(40)]
            low, high = bootstrap_mean_interval(values, resamples=500, seed=run)
            covered += low <= true_mean <= high
        assert 0.88 <= covered / runs <= 0.985

    def test_large_samples_use_the_normal_limit_of_the_bootstrap(self) -> None:
        rng = np.random.default_rng(5)
        values = rng.beta(2, 5, size=5000)
        dist = _bootstrap.bootstrap_mean(values.tolist(), 2000, 0)
        assert not dist.exact
        low, high = bootstrap_mean_interval(values.tolist())
        # A real bootstrap with numpy, for comparison.
        means = values[rng.integers(0, len(values), size=(2000, len(values)))].mean(axis=1)
        assert low == pytest.approx(float(np.percentile(means, 2.5)), abs=0.0015)
        assert high == pytest.approx(float(np.percentile(means, 97.5)), abs=0.0015)
