"""Confidence intervals: Wilson for proportions, percentile bootstrap for means."""

from __future__ import annotations

import math
from collections.abc import Sequence

from shared.stats._bootstrap import bootstrap_mean, check_confidence, z_for


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean (exactly rounded sum); ValueError when empty."""
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def wilson_bounds(rate: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score bounds for an observed rate over n trials at normal quantile z (n may be fractional,
    which `power` uses to ask "what if this rate held over n cases")."""
    if n <= 0:
        return 0.0, 1.0
    z2 = z * z
    denominator = 1 + z2 / n
    center = (rate + z2 / (2 * n)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n` (no continuity correction).

    n = 0 gives (0, 1): no evidence. At 0 successes the low end is exactly 0, at n it is exactly 1.
    Worked example: 8 of 10 at 95% (z = 1.959964): center (0.8 + 0.19207) / 1.38415 = 0.71671,
    half-width 1.959964 * sqrt(0.016 + 0.0096037) / 1.38415 = 0.22658, so (0.4902, 0.9433).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    z = z_for(confidence)
    if n == 0:
        return 0.0, 1.0
    low, high = wilson_bounds(successes / n, n, z)
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return low, high


def bootstrap_mean_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    *,
    support: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """The percentile-bootstrap interval of the mean, deterministic for a given seed.

    n = 0 raises ValueError (no data, no interval). n = 1 says nothing about spread, so it returns
    `support` (the range the values can take, (0, 1) for scores) or (-inf, inf) when none is given,
    never a zero-width interval. For n >= 2 the percentile bootstrap; bounds are clipped to `support`.
    Caveat: with few values the percentile bootstrap is too narrow (all equal values give a zero-width
    interval); use `power` to say when evidence is too thin. Above 4 million draws the normal limit
    replaces resampling (see `_bootstrap`).
    """
    check_confidence(confidence)
    if not values:
        raise ValueError("bootstrap interval of no values")
    if support is not None and support[0] > support[1]:
        raise ValueError("support must be (low, high) with low <= high")
    if len(values) == 1:
        return support if support is not None else (-math.inf, math.inf)
    low, high = bootstrap_mean(values, resamples, seed).interval(confidence)
    if support is not None:
        low, high = max(support[0], low), min(support[1], high)
    return low, high
