"""Paired comparisons: McNemar's exact p against scipy, bootstrap intervals against numpy, verdicts
and the plain-language sentence."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats as sps

from shared.stats.compare import compare_binary, compare_cases, compare_scores, mcnemar_exact_p


def paired_outcomes(both: int, a_only: int, b_only: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return a, b


class TestMcNemar:
    def test_worked_example(self) -> None:
        # 9 discordant for A, 2 for B: (1 + 11 + 55) / 2048 = 0.032715, doubled 0.065430.
        assert mcnemar_exact_p(9, 2) == pytest.approx(0.0654297, abs=1e-7)

    def test_matches_scipy_binomtest(self) -> None:
        for a_only in range(0, 40, 3):
            for b_only in range(0, 40, 4):
                if a_only + b_only == 0:
                    assert mcnemar_exact_p(0, 0) == 1.0
                    continue
                expected = sps.binomtest(a_only, a_only + b_only, 0.5).pvalue
                assert mcnemar_exact_p(a_only, b_only) == pytest.approx(float(expected), rel=1e-9)

    def test_large_counts_do_not_underflow(self) -> None:
        p = mcnemar_exact_p(6000, 5000)
        assert p == pytest.approx(float(sps.binomtest(5000, 11000, 0.5).pvalue), rel=1e-6)
        assert 0 < p < 1e-20

    def test_is_symmetric(self) -> None:
        assert mcnemar_exact_p(3, 17) == mcnemar_exact_p(17, 3)


STATEMENT = re.compile(
    r"^(?P<winner>\w+) beats (?P<loser>\w+) on (?P<metric>[\w ]+) with probability (?P<prob>[\d.]+|above 0\.99) "
    r"\(difference (?P<diff>[+-][\d.]+), 95% CI (?P<low>[+-][\d.]+) to (?P<high>[+-][\d.]+), n=(?P<n>\d+)\)$"
)


class TestCompareBinary:
    def test_a_clearly_better(self) -> None:
        # 200 shared cases: A alone passes 30, B alone 8: A 0.75 vs B 0.64.
        a, b = paired_outcomes(both=120, a_only=30, b_only=8, neither=42)
        result = compare_binary(a, b, label_a="gpt", label_b="claude")
        assert result.method == "mcnemar_exact"
        assert (result.a_only, result.b_only, result.n_shared) == (30, 8, 200)
        assert result.p_value == pytest.approx(float(sps.binomtest(8, 38, 0.5).pvalue))
        assert result.diff == pytest.approx(0.11)  # 150/200 - 128/200
        assert result.diff_low > 0
        assert result.verdict == "a_better"
        assert result.prob_a_better > 0.99
        match = STATEMENT.match(result.statement)
        assert match is not None, result.statement
        assert (match["winner"], match["loser"], match["metric"], match["diff"], match["n"]) == (
            "gpt",
            "claude",
            "pass rate",
            "+0.11",
            "200",
        )

    def test_b_better_reads_from_b_side(self) -> None:
        a, b = paired_outcomes(both=50, a_only=2, b_only=25, neither=23)
        result = compare_binary(a, b)
        assert result.verdict == "b_better"
        assert result.diff < 0
        match = STATEMENT.match(result.statement)
        assert match is not None, result.statement
        assert match["winner"] == "B"
        assert match["diff"].startswith("+")
        assert float(match["low"]) > 0

    def test_no_significant_difference(self) -> None:
        a, b = paired_outcomes(both=100, a_only=11, b_only=9, neither=80)
        result = compare_binary(a, b)
        assert result.verdict == "no_significant_difference"
        assert result.statement.startswith(
            "No significant difference between A and B on pass rate (difference +0.01, 95% CI"
        )
        assert result.statement.endswith("n=200)")
        assert result.diff_low < 0 < result.diff_high

    def test_identical_outcomes(self) -> None:
        a = [True, False] * 20
        result = compare_binary(a, list(a))
        assert (result.p_value, result.prob_a_better, result.diff_low, result.diff_high) == (1.0, 0.5, 0.0, 0.0)
        assert result.verdict == "no_significant_difference"

    def test_deterministic_for_a_seed(self) -> None:
        a, b = paired_outcomes(40, 10, 5, 45)
        assert compare_binary(a, b, seed=3) == compare_binary(a, b, seed=3)

    def test_invalid_input(self) -> None:
        with pytest.raises(ValueError, match="differ in length"):
            compare_binary([True], [True, False])
        with pytest.raises(ValueError, match="no shared cases"):
            compare_binary([], [])


class TestCompareScores:
    def test_interval_matches_a_numpy_paired_bootstrap(self) -> None:
        rng = np.random.default_rng(8)
        base = rng.beta(4, 3, size=300)
        a = np.clip(base + rng.normal(0.03, 0.08, size=300), 0, 1)
        b = np.clip(base, 0, 1)
        result = compare_scores(a.tolist(), b.tolist(), resamples=4000)
        diffs = a - b
        boot = diffs[rng.integers(0, 300, size=(20000, 300))].mean(axis=1)
        assert result.method == "paired_bootstrap"
        assert result.diff == pytest.approx(float(diffs.mean()))
        assert result.diff_low == pytest.approx(float(np.percentile(boot, 2.5)), abs=0.002)
        assert result.diff_high == pytest.approx(float(np.percentile(boot, 97.5)), abs=0.002)
        assert result.prob_a_better == pytest.approx(float((boot > 0).mean()), abs=0.01)
        assert result.verdict == "a_better"
        assert result.statement.startswith("A beats B on quality with probability")

    def test_pairing_finds_a_small_consistent_difference(self) -> None:
        # Cases vary a lot, but A is always 0.02 ahead on the same case: paired, that is decisive,
        # although the two score distributions overlap almost entirely.
        rng = np.random.default_rng(1)
        b = rng.uniform(0.1, 0.9, size=60)
        a = b + 0.02
        result = compare_scores(a.tolist(), b.tolist())
        assert result.verdict == "a_better"
        assert result.diff_low == pytest.approx(0.02)
        assert result.diff_high == pytest.approx(0.02)
        assert sps.ttest_ind(a, b).pvalue > 0.5  # an unpaired test sees nothing

    def test_noise_is_no_significant_difference(self) -> None:
        rng = np.random.default_rng(2)
        a, b = rng.uniform(0, 1, 100), rng.uniform(0, 1, 100)
        result = compare_scores(a.tolist(), b.tolist(), label_a="x", label_b="y", metric="helpfulness")
        assert result.verdict == "no_significant_difference"
        assert result.p_value > 0.05
        assert "between x and y on helpfulness" in result.statement

    def test_one_case_is_never_significant(self) -> None:
        result = compare_scores([1.0], [0.0])
        assert (result.diff_low, result.diff_high, result.verdict) == (-1.0, 1.0, "no_significant_difference")

    def test_scores_outside_unit_interval_are_refused(self) -> None:
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            compare_scores([1.5], [0.5])


class TestCompareCases:
    def test_single_trial_pass_fail_uses_mcnemar_on_shared_cases(self) -> None:
        a = {f"c{i}": [1.0 if i % 4 else 0.0] for i in range(40)}
        b = {f"c{i}": [1.0 if i % 2 else 0.0] for i in range(40)}
        a["only_a"] = [1.0]
        result = compare_cases(a, b, binary=True)
        assert result.method == "mcnemar_exact"
        assert result.n_shared == 40
        assert (result.a_only, result.b_only) == (10, 0)

    def test_several_trials_average_per_case(self) -> None:
        a = {"x": [1.0, 0.0], "y": [1.0, 1.0], "z": [0.0]}
        b = {"x": [0.0, 0.0], "y": [1.0, 0.0], "z": [0.0]}
        result = compare_cases(a, b, binary=True)
        assert result.method == "paired_bootstrap"
        assert result.metric == "pass rate"
        assert (result.mean_a, result.mean_b) == pytest.approx((0.5, 1 / 6))

    def test_binary_outcomes_must_be_zero_or_one(self) -> None:
        with pytest.raises(ValueError, match="must be 0"):
            compare_cases({"x": [0.5]}, {"x": [1.0]}, binary=True)

    def test_no_shared_case(self) -> None:
        with pytest.raises(ValueError, match="no shared cases"):
            compare_cases({"a": [1.0]}, {"b": [1.0]}, binary=False)
