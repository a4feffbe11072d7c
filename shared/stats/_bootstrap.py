"""The percentile bootstrap of a mean, shared by the interval and the paired comparison.

Pure Python resampling costs about 0.1 s per million draws, so the exact bootstrap runs while
n * resamples stays within EXACT_WORK_LIMIT (n up to 2,000 at the default 2,000 resamples). Above
that the bootstrap distribution of the mean is replaced by its normal limit, N(mean, sd / sqrt(n))
with the plug-in sd, which is what it converges to at such n; `BootstrapDistribution.exact` says which.
Results are deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from shared.stats.percentiles import quantile_of_sorted

EXACT_WORK_LIMIT = 4_000_000


def z_for(confidence: float) -> float:
    """The two-sided normal quantile for `confidence` (1.959964 for 0.95)."""
    check_confidence(confidence)
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def check_confidence(confidence: float) -> None:
    """ValueError unless 0 < confidence < 1."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


@dataclass(frozen=True)
class BootstrapDistribution:
    """The bootstrap distribution of a mean: sorted resampled means, or the normal limit."""

    mean: float
    means: tuple[float, ...] | None
    se: float

    @property
    def exact(self) -> bool:
        """True for resampled means, False for the normal limit."""
        return self.means is not None

    def interval(self, confidence: float) -> tuple[float, float]:
        """The percentile interval at `confidence`."""
        alpha = 1 - confidence
        if self.means is not None:
            return quantile_of_sorted(self.means, alpha / 2), quantile_of_sorted(self.means, 1 - alpha / 2)
        half = z_for(confidence) * self.se
        return self.mean - half, self.mean + half

    def share_above(self, value: float) -> float:
        """Share of resampled means above `value`, ties counted half."""
        if self.means is not None:
            above = sum(1 for m in self.means if m > value)
            ties = sum(1 for m in self.means if m == value)
            return (above + ties / 2) / len(self.means)
        if self.se == 0:
            return 1.0 if self.mean > value else 0.0 if self.mean < value else 0.5
        return 1 - NormalDist(self.mean, self.se).cdf(value)

    def two_sided_p(self, value: float) -> float:
        """The p-value of "the mean equals `value`" from the interval's own tails (percentile inversion)."""
        if self.means is not None:
            n = len(self.means)
            at_or_below = sum(1 for m in self.means if m <= value) / n
            at_or_above = sum(1 for m in self.means if m >= value) / n
            return min(1.0, 2 * min(at_or_below, at_or_above))
        if self.se == 0:
            return 1.0 if self.mean == value else 0.0
        return min(1.0, 2 * (1 - NormalDist().cdf(abs(self.mean - value) / self.se)))


def bootstrap_mean(values: Sequence[float], resamples: int, seed: int) -> BootstrapDistribution:
    """The bootstrap distribution of the mean of `values` (n >= 1)."""
    n = len(values)
    if n == 0:
        raise ValueError("bootstrap of no values")
    if resamples < 10:
        raise ValueError("resamples must be at least 10")
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)
    if n * resamples > EXACT_WORK_LIMIT:
        return BootstrapDistribution(mean=mean, means=None, se=sd / math.sqrt(n))
    rng = random.Random(seed)  # noqa: S311  # seeded on purpose: reproducible statistics, not secrets
    pool = list(values)
    # random.choices is the fastest stdlib way to draw n indices with replacement.
    # fsum: resampled means of identical values equal the values exactly.
    means = sorted(math.fsum(rng.choices(pool, k=n)) / n for _ in range(resamples))
    return BootstrapDistribution(mean=mean, means=tuple(means), se=sd / math.sqrt(n))
