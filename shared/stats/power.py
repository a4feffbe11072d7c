"""How many cases would settle a question: for route decisions that say "the evidence is too thin;
about N more cases needed". Normal-approximation planning formulas: estimates, not guarantees, and
they assume the observed rates hold.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

from shared.stats._bootstrap import check_confidence, z_for
from shared.stats.intervals import wilson_bounds

Side = Literal["lower", "upper"]
# Beyond this many cases an estimate is meaningless for a benchmark: report "no finite number" instead.
MAX_CASES = 10_000_000


def _check_rate(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def _z_power(power: float) -> float:
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    return NormalDist().inv_cdf(power)


def _cap(n: float) -> int | None:
    if not math.isfinite(n) or n > MAX_CASES:
        return None
    return max(1, math.ceil(n - 1e-9))


def cases_needed(
    p_a: float,
    p_b: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    paired: bool = True,
    discordant_rate: float | None = None,
) -> int | None:
    """Cases needed to tell pass rates p_a and p_b apart (two-sided level `alpha`, given `power`).

    Paired (both targets on the same cases, McNemar; Connor 1987): n = (z_a sqrt(psi) + z_b
    sqrt(psi - d^2))^2 / d^2, with d = p_a - p_b and psi the share of discordant cases; `discordant_rate`
    is the observed psi, else psi = p_a (1 - p_b) + p_b (1 - p_a) (independent outcomes).
    Unpaired (per target): n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p_a q_a + p_b q_b))^2 / d^2.
    None when p_a == p_b (no number of cases separates equal rates) or the number is absurd.
    Worked example (unpaired): 0.8 vs 0.7 at alpha 0.05, power 0.8: (1.95996 * sqrt(2 * 0.75 * 0.25)
    + 0.84162 * sqrt(0.16 + 0.21))^2 / 0.01 = (1.20023 + 0.51193)^2 / 0.01 = 293.15, so 294.
    """
    _check_rate("p_a", p_a)
    _check_rate("p_b", p_b)
    check_confidence(1 - alpha)
    z_a, z_b = z_for(1 - alpha), _z_power(power)
    d = p_a - p_b
    if d == 0:
        return None
    if paired:
        psi = discordant_rate if discordant_rate is not None else p_a * (1 - p_b) + p_b * (1 - p_a)
        _check_rate("discordant_rate", psi)
        if psi < abs(d):
            raise ValueError("discordant_rate cannot be below |p_a - p_b|")
        n = (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - d * d)) ** 2 / (d * d)
    else:
        p_bar = (p_a + p_b) / 2
        n = (z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))) ** 2 / (
            d * d
        )
    return _cap(n)


def additional_cases_needed(needed: int | None, have: int) -> int | None:
    """How many more cases beyond `have` (0 when already enough; None when no finite number would do)."""
    if needed is None:
        return None
    return max(0, needed - have)


def cases_needed_for_bound(
    observed_rate: float, bound: float, confidence: float = 0.95, side: Side = "lower"
) -> int | None:
    """The n at which the Wilson interval's `side` end would clear `bound` if the observed rate held.

    "lower": the smallest n with Wilson low >= bound (a minimum pass rate), needs observed_rate > bound.
    "upper": the smallest n with Wilson high <= bound (a maximum error rate), needs observed_rate < bound.
    The Wilson bound equals b exactly when (p - b)^2 = z^2 b (1 - b) / n, so n = z^2 b (1 - b) / (p - b)^2
    (then checked against `wilson_bounds`). None when the rate is on the wrong side of the bound.
    Worked example: rate 0.9, minimum 0.8, 95%: 3.8415 * 0.16 / 0.01 = 61.46, so 62 cases.
    """
    _check_rate("observed_rate", observed_rate)
    _check_rate("bound", bound)
    z = z_for(confidence)
    gap = observed_rate - bound if side == "lower" else bound - observed_rate
    if gap <= 0:
        return None
    n = _cap(z * z * bound * (1 - bound) / (gap * gap))
    if n is None:
        return None

    def clears(count: int) -> bool:
        low, high = wilson_bounds(observed_rate, count, z)
        return low >= bound if side == "lower" else high <= bound

    while not clears(n):  # float rounding can leave the closed form one short
        n += 1
    return n


def cases_needed_for_mean_bound(
    mean: float, sd: float, bound: float, confidence: float = 0.95, side: Side = "lower"
) -> int | None:
    """The n at which a normal interval of a mean score (sd per case) would clear `bound`:
    n = (z sd / (mean - bound))^2. None when the mean is on the wrong side of the bound."""
    if sd < 0:
        raise ValueError("sd must be >= 0")
    z = z_for(confidence)
    gap = mean - bound if side == "lower" else bound - mean
    if gap <= 0:
        return None
    return _cap((z * sd / gap) ** 2)


def cases_needed_for_mean_difference(
    diff: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Paired cases needed to detect a mean score difference `diff` whose per-case differences have
    standard deviation `sd_diff`: n = ((z_a + z_b) sd_diff / diff)^2. None when diff is 0."""
    if sd_diff < 0:
        raise ValueError("sd_diff must be >= 0")
    if diff == 0:
        return None
    z_a, z_b = z_for(1 - alpha), _z_power(power)
    return _cap(((z_a + z_b) * sd_diff / diff) ** 2)
