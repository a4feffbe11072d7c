"""How many cases are needed: formulas checked by hand, by independent computation with scipy, and by
simulating the test they plan for."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from shared.stats.intervals import wilson_bounds, wilson_interval
from shared.stats.power import (
    additional_cases_needed,
    cases_needed,
    cases_needed_for_bound,
    cases_needed_for_mean_bound,
    cases_needed_for_mean_difference,
)


class TestCasesNeeded:
    def test_unpaired_worked_example(self) -> None:
        # (1.95996 sqrt(2 * 0.75 * 0.25) + 0.84162 sqrt(0.16 + 0.21))^2 / 0.1^2 = 293.15 -> 294.
        assert cases_needed(0.8, 0.7, paired=False) == 294

    def test_unpaired_matches_an_independent_computation(self) -> None:
        za, zb = sps.norm.ppf(0.975), sps.norm.ppf(0.9)
        for p_a, p_b in [(0.5, 0.6), (0.9, 0.95), (0.2, 0.1)]:
            pbar = (p_a + p_b) / 2
            n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))) ** 2
            assert cases_needed(p_a, p_b, power=0.9, paired=False) == math.ceil(n / (p_a - p_b) ** 2)

    def test_paired_uses_the_discordant_share(self) -> None:
        # Correlated targets disagree on few cases: far fewer cases settle the same gap.
        independent = cases_needed(0.8, 0.7)
        correlated = cases_needed(0.8, 0.7, discordant_rate=0.12)
        assert independent is not None
        assert correlated is not None
        assert correlated < independent / 2
        # Connor: (1.95996 * 0.34641 + 0.84162 * 0.33166)^2 / 0.01 = (0.67895 + 0.27914)^2 / 0.01 = 91.79 -> 92.
        assert correlated == 92

    def test_paired_estimate_gives_the_promised_power_in_simulation(self) -> None:
        # Simulate McNemar's exact test (scipy's binomtest) at the planned n: power should be about 0.8.
        p_a, p_b = 0.8, 0.65
        n = cases_needed(p_a, p_b)
        assert n is not None
        rng = np.random.default_rng(42)
        runs, rejected = 400, 0
        for _ in range(runs):
            a = rng.random(n) < p_a
            b = rng.random(n) < p_b
            a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
            if a_only + b_only and sps.binomtest(a_only, a_only + b_only, 0.5).pvalue < 0.05:
                rejected += 1
        assert 0.7 <= rejected / runs <= 0.9

    def test_equal_rates_have_no_finite_answer(self) -> None:
        assert cases_needed(0.7, 0.7) is None
        assert additional_cases_needed(None, 50) is None

    def test_additional(self) -> None:
        assert additional_cases_needed(294, 100) == 194
        assert additional_cases_needed(294, 500) == 0

    def test_invalid(self) -> None:
        with pytest.raises(ValueError, match="p_a"):
            cases_needed(1.2, 0.5)
        with pytest.raises(ValueError, match="discordant_rate"):
            cases_needed(0.8, 0.7, discordant_rate=0.05)  # fewer discordant cases than the gap
        with pytest.raises(ValueError, match="power"):
            cases_needed(0.8, 0.7, power=1.0)


class TestCasesNeededForBound:
    def test_worked_example(self) -> None:
        # Rate 0.9 against a 0.8 minimum: 1.95996^2 * 0.8 * 0.2 / 0.1^2 = 61.46 -> 62.
        assert cases_needed_for_bound(0.9, 0.8) == 62

    @pytest.mark.parametrize(
        ("rate", "bound", "side"),
        [(0.9, 0.8, "lower"), (0.97, 0.95, "lower"), (0.6, 0.5, "lower"), (0.02, 0.05, "upper"), (0.3, 0.4, "upper")],
    )
    def test_wilson_clears_exactly_from_that_n(self, rate: float, bound: float, side: str) -> None:
        z = float(sps.norm.ppf(0.975))
        n = cases_needed_for_bound(rate, bound, side=side)  # type: ignore[arg-type]
        assert n is not None

        def clears(count: int) -> bool:
            low, high = wilson_bounds(rate, count, z)
            return low >= bound if side == "lower" else high <= bound

        assert clears(n)
        assert not clears(n - 1)

    def test_with_whole_cases(self) -> None:
        # 62 cases at 90%: 56 passes (0.903) clear a 0.8 minimum on the Wilson lower bound.
        assert wilson_interval(56, 62)[0] >= 0.8

    def test_wrong_side_of_the_bound_is_none(self) -> None:
        assert cases_needed_for_bound(0.75, 0.8) is None
        assert cases_needed_for_bound(0.8, 0.8) is None
        assert cases_needed_for_bound(0.06, 0.05, side="upper") is None

    def test_mean_bound(self) -> None:
        # (1.95996 * 0.2 / (0.85 - 0.8))^2 = 61.46 -> 62.
        assert cases_needed_for_mean_bound(0.85, 0.2, 0.8) == 62
        assert cases_needed_for_mean_bound(0.75, 0.2, 0.8) is None
        assert cases_needed_for_mean_bound(0.75, 0.2, 0.8, side="upper") == 62

    def test_mean_difference(self) -> None:
        # ((1.95996 + 0.84162) * 0.15 / 0.05)^2 = 70.65 -> 71.
        assert cases_needed_for_mean_difference(0.05, 0.15) == 71
        assert cases_needed_for_mean_difference(-0.05, 0.15) == 71
        assert cases_needed_for_mean_difference(0.0, 0.15) is None
