"""Paired comparison of two targets on their shared cases, with an explicit "no significant difference".

Pass/fail outcomes: McNemar's exact test (a two-sided binomial test on the discordant pairs).
Scores: a paired bootstrap of the mean difference. Both report the difference with its bootstrap
interval and the share of bootstrap resamples in which A is ahead. A verdict names a winner only when
the evidence says so: for pass/fail, McNemar's p < 1 - confidence AND the interval of the difference
excludes 0 (so the sentence never contradicts its own numbers); for scores, the interval excludes 0.
Outcomes lie in [0, 1]: pass = 1, fail = 0, or a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.stats._bootstrap import bootstrap_mean, check_confidence

Verdict = Literal["a_better", "b_better", "no_significant_difference"]
Method = Literal["mcnemar_exact", "paired_bootstrap"]


class Comparison(BaseModel):
    """Target A against target B on `n_shared` cases. `diff` is mean_a - mean_b; `p_value` is McNemar's
    exact p for pass/fail, the bootstrap percentile-inversion p for scores; `prob_a_better` is the share
    of bootstrap resamples where A's mean is above B's (ties count half)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_shared: int
    method: Method
    metric: str
    label_a: str
    label_b: str
    confidence: float
    mean_a: float
    mean_b: float
    diff: float
    diff_low: float
    diff_high: float
    p_value: float
    prob_a_better: float
    verdict: Verdict
    statement: str
    a_only: int | None = None  # McNemar: cases A passed and B failed
    b_only: int | None = None  # McNemar: cases B passed and A failed


def mcnemar_exact_p(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p: P(X <= min) doubled (capped at 1), X ~ Binomial(a_only + b_only, 1/2).

    Worked example: 9 cases only A passed, 2 only B passed: (C(11,0)+C(11,1)+C(11,2)) / 2^11 =
    67 / 2048 = 0.03271, doubled 0.06543.
    """
    if a_only < 0 or b_only < 0:
        raise ValueError("discordant counts must be >= 0")
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    return min(1.0, 2 * _binomial_half_cdf(k, n))


# Up to this many discordant pairs the tail is summed in exact integers; beyond, in floating point
# from the largest term down (big-integer sums grow quadratically with n).
_EXACT_INTEGER_LIMIT = 2000


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), with k <= n / 2."""
    if n <= _EXACT_INTEGER_LIMIT:
        term, tail = 1, 1  # C(n, 0)
        for i in range(k):
            term = term * (n - i) // (i + 1)
            tail += term
        return tail / (1 << n)
    # Terms shrink going down from i = k (ratio i / (n - i + 1) < 1): sum them relative to the term at k.
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    relative, total = 1.0, 1.0
    for i in range(k, 0, -1):
        relative *= i / (n - i + 1)
        total += relative
        if relative < 1e-17 * total:
            break
    return math.exp(log_top) * total


def _fmt(value: float) -> str:
    return f"{value:+.2f}"


def _probability(value: float) -> str:
    # "probability 1.00" would overstate what a finite bootstrap can show.
    if value > 0.995:
        return "above 0.99"
    return f"{value:.2f}"


def _statement(c: dict[str, float], *, verdict: Verdict, labels: tuple[str, str], metric: str, n: int) -> str:
    level = f"{c['confidence']:.0%}"
    a, b = labels
    if verdict == "a_better":
        return (
            f"{a} beats {b} on {metric} with probability {_probability(c['prob'])} "
            f"(difference {_fmt(c['diff'])}, {level} CI {_fmt(c['low'])} to {_fmt(c['high'])}, n={n})"
        )
    if verdict == "b_better":
        return (
            f"{b} beats {a} on {metric} with probability {_probability(1 - c['prob'])} "
            f"(difference {_fmt(-c['diff'])}, {level} CI {_fmt(-c['high'])} to {_fmt(-c['low'])}, n={n})"
        )
    return (
        f"No significant difference between {a} and {b} on {metric} "
        f"(difference {_fmt(c['diff'])}, {level} CI {_fmt(c['low'])} to {_fmt(c['high'])}, n={n})"
    )


def _compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    method: Method,
    p_mcnemar: float | None,
    label_a: str,
    label_b: str,
    metric: str,
    confidence: float,
    resamples: int,
    seed: int,
) -> Comparison:
    check_confidence(confidence)
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        raise ValueError("no shared cases to compare")
    if not all(0 <= x <= 1 for x in a) or not all(0 <= y <= 1 for y in b):
        raise ValueError("outcomes must lie in [0, 1] (pass = 1, fail = 0, or a score)")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    dist = bootstrap_mean(diffs, resamples, seed)
    # One case says nothing about spread: the widest possible difference, never a zero-width interval.
    low, high = dist.interval(confidence) if n > 1 else (-1.0, 1.0)
    prob = dist.share_above(0.0) if n > 1 else 0.5
    p_value = p_mcnemar if p_mcnemar is not None else (dist.two_sided_p(0.0) if n > 1 else 1.0)
    mean_a, mean_b = math.fsum(a) / n, math.fsum(b) / n
    diff = mean_a - mean_b
    alpha = 1 - confidence
    significant = p_value < alpha and (low > 0 or high < 0)
    verdict: Verdict = "no_significant_difference"
    if significant:
        verdict = "a_better" if diff > 0 else "b_better"
    numbers = {"confidence": confidence, "prob": prob, "diff": diff, "low": low, "high": high}
    return Comparison(
        n_shared=n,
        method=method,
        metric=metric,
        label_a=label_a,
        label_b=label_b,
        confidence=confidence,
        mean_a=mean_a,
        mean_b=mean_b,
        diff=diff,
        diff_low=low,
        diff_high=high,
        p_value=p_value,
        prob_a_better=prob,
        verdict=verdict,
        statement=_statement(numbers, verdict=verdict, labels=(label_a, label_b), metric=metric, n=n),
    )


def compare_binary(
    a: Sequence[bool],
    b: Sequence[bool],
    *,
    label_a: str = "A",
    label_b: str = "B",
    metric: str = "pass rate",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Compare paired pass/fail outcomes (a[i] and b[i] are the same case) with McNemar's exact test."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length ({len(a)} vs {len(b)})")
    a_only = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    result = _compare(
        [1.0 if x else 0.0 for x in a],
        [1.0 if y else 0.0 for y in b],
        method="mcnemar_exact",
        p_mcnemar=mcnemar_exact_p(a_only, b_only),
        label_a=label_a,
        label_b=label_b,
        metric=metric,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    return result.model_copy(update={"a_only": a_only, "b_only": b_only})


def compare_scores(
    a: Sequence[float],
    b: Sequence[float],
    *,
    label_a: str = "A",
    label_b: str = "B",
    metric: str = "quality",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Compare paired scores (a[i] and b[i] are the same case) with a paired bootstrap of the mean difference."""
    return _compare(
        a,
        b,
        method="paired_bootstrap",
        p_mcnemar=None,
        label_a=label_a,
        label_b=label_b,
        metric=metric,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )


def shared_cases(
    a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]]
) -> tuple[list[str], list[float], list[float]]:
    """The cases both targets have outcomes for (sorted, so resampling is reproducible) and each
    target's per-case mean over its trials. The case is the unit of resampling: trials of one case are
    not independent draws of the case population."""
    keys = sorted(key for key in a.keys() & b.keys() if a[key] and b[key])
    return keys, [math.fsum(a[k]) / len(a[k]) for k in keys], [math.fsum(b[k]) / len(b[k]) for k in keys]


def compare_cases(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    *,
    binary: bool,
    label_a: str = "A",
    label_b: str = "B",
    metric: str | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Compare two targets on their shared cases, outcomes keyed by case id (a list per case: its trials).

    Pass/fail outcomes (`binary`, values 0 or 1) with one trial per case use McNemar's exact test;
    otherwise (scores, or several trials making a per-case pass rate) the paired bootstrap on per-case
    means. ValueError when no case is shared.
    """
    keys, mean_a, mean_b = shared_cases(a, b)
    if binary and any(v not in (0.0, 1.0) for k in keys for v in (*a[k], *b[k])):
        raise ValueError("binary outcomes must be 0 (fail) or 1 (pass)")
    single_trial = all(len(a[k]) == 1 and len(b[k]) == 1 for k in keys)
    if binary and single_trial:
        return compare_binary(
            [x >= 0.5 for x in mean_a],
            [y >= 0.5 for y in mean_b],
            label_a=label_a,
            label_b=label_b,
            metric=metric or "pass rate",
            confidence=confidence,
            resamples=resamples,
            seed=seed,
        )
    return compare_scores(
        mean_a,
        mean_b,
        label_a=label_a,
        label_b=label_b,
        metric=metric or ("pass rate" if binary else "quality"),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
