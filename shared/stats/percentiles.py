"""Exact percentiles, and a mergeable quantile sketch for latency rollups.

`percentile` is numpy's default (linear interpolation between order statistics). `QuantileSketch` is a
log-bucketed histogram in the manner of DDSketch: every quantile it reports is within
`relative_accuracy` (1% by default) of the true value of that rank, sketches merge exactly (bucket
counts add up), and `to_dict` is compact JSON for a Table row, so hourly sketches roll up into days
without re-reading results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SKETCH_FORMAT = 1
DEFAULT_RELATIVE_ACCURACY = 0.01
DEFAULT_MAX_BINS = 2048
# Values below this are counted as zero (a 0 ms TTFT from a simulated model, say); the sketch's
# relative guarantee is for values above it.
MIN_POSITIVE = 1e-9


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (q in [0, 100]) with linear interpolation, as `numpy.percentile` by default.

    Worked example: [10, 20, 30, 40] at q=90: rank 0.9 * 3 = 2.7, so 30 + 0.7 * (40 - 30) = 37.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(values)
    return quantile_of_sorted(ordered, q / 100)


def quantile_of_sorted(ordered: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (in [0, 1]) of already sorted values, linear interpolation."""
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    if weight == 0:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * weight)


class QuantileSketch:
    """A mergeable quantile sketch with relative accuracy `relative_accuracy` (DDSketch-style).

    A value x > 0 goes to bucket i = ceil(log(x) / log(gamma)), gamma = (1 + a) / (1 - a); the bucket
    (gamma^(i-1), gamma^i] is reported as 2 gamma^i / (gamma + 1), which is within a of every value in
    it. Values must be >= 0 (latencies, durations). When more than `max_bins` buckets are in use the
    lowest ones are collapsed into one, which costs accuracy only at the lowest quantiles (it never
    happens at 1% accuracy unless values span 17 orders of magnitude).
    """

    __slots__ = (
        "_bins",
        "_gamma",
        "_log_gamma",
        "count",
        "max",
        "max_bins",
        "min",
        "relative_accuracy",
        "sum",
        "zero_count",
    )

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY, max_bins: int = DEFAULT_MAX_BINS) -> None:
        if not 0 < relative_accuracy < 1:
            raise ValueError("relative_accuracy must be in (0, 1)")
        if max_bins < 2:
            raise ValueError("max_bins must be at least 2")
        self.relative_accuracy = relative_accuracy
        self.max_bins = max_bins
        self._gamma = (1 + relative_accuracy) / (1 - relative_accuracy)
        self._log_gamma = math.log(self._gamma)
        self._bins: dict[int, int] = {}
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    @classmethod
    def of(cls, values: Iterable[float], relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> QuantileSketch:
        """A sketch of `values`."""
        sketch = cls(relative_accuracy)
        for value in values:
            sketch.add(value)
        return sketch

    def _key(self, value: float) -> int:
        return math.ceil(math.log(value) / self._log_gamma)

    def _value(self, key: int) -> float:
        return 2 * self._gamma**key / (self._gamma + 1)

    def add(self, value: float, count: int = 1) -> None:
        """Count `value` (>= 0, finite) `count` times."""
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"sketch values must be finite and >= 0, got {value}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if value < MIN_POSITIVE:
            self.zero_count += count
        else:
            key = self._key(value)
            self._bins[key] = self._bins.get(key, 0) + count
            if len(self._bins) > self.max_bins:
                self._collapse()
        self.count += count
        self.sum += value * count
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def _collapse(self) -> None:
        # Fold the lowest buckets into the lowest one kept, leaving exactly max_bins.
        keys = sorted(self._bins)
        cut = len(keys) - self.max_bins
        moved = sum(self._bins.pop(key) for key in keys[:cut])
        self._bins[keys[cut]] += moved

    def merge(self, other: QuantileSketch) -> None:
        """Add `other`'s counts into this sketch (both must have the same relative accuracy)."""
        if other.relative_accuracy != self.relative_accuracy:
            raise ValueError("cannot merge sketches of different relative accuracy")
        for key, count in other._bins.items():
            self._bins[key] = self._bins.get(key, 0) + count
        if len(self._bins) > self.max_bins:
            self._collapse()
        self.zero_count += other.zero_count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> QuantileSketch:
        """An independent copy."""
        clone = QuantileSketch(self.relative_accuracy, self.max_bins)
        clone.merge(self)
        return clone

    @property
    def mean(self) -> float | None:
        """The exact mean of the values added, None when empty."""
        return self.sum / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile (q in [0, 1]) within the relative accuracy of the value of rank
        floor(q * (count - 1)); None when empty. q=0 and q=1 give the exact min and max."""
        if not 0 <= q <= 1:
            raise ValueError(f"q must be in [0, 1], got {q}")
        if self.count == 0:
            return None
        if q == 0:
            return self.min
        if q == 1:
            return self.max
        rank = q * (self.count - 1)
        seen = self.zero_count
        if rank < seen:
            return 0.0
        for key in sorted(self._bins):
            seen += self._bins[key]
            if seen > rank:
                return min(self.max, max(self.min, self._value(key)))
        return self.max  # pragma: no cover - counts always cover every rank

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-ready form: bucket counts as a dense list from the lowest bucket in use."""
        data: dict[str, Any] = {
            "v": SKETCH_FORMAT,
            "ra": self.relative_accuracy,
            "n": self.count,
            "s": self.sum,
            "z": self.zero_count,
        }
        if self.count:
            data["min"] = self.min
            data["max"] = self.max
        if self._bins:
            low, high = min(self._bins), max(self._bins)
            data["o"] = low
            data["c"] = [self._bins.get(key, 0) for key in range(low, high + 1)]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_bins: int = DEFAULT_MAX_BINS) -> QuantileSketch:
        """Rebuild a sketch from `to_dict` output; ValueError on anything inconsistent (stored data is checked)."""
        if data.get("v") != SKETCH_FORMAT:
            raise ValueError(f"unknown sketch format {data.get('v')!r}")
        sketch = cls(_number(data, "ra"), max_bins)
        counts = data.get("c", [])
        if not isinstance(counts, list) or not all(_is_count(c) for c in counts):
            raise ValueError("sketch counts must be a list of non-negative integers")
        offset = data.get("o", 0)
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise ValueError("sketch offset must be an integer")
        sketch._bins = {offset + index: count for index, count in enumerate(counts) if count}
        zero = data.get("z", 0)
        total = data.get("n", 0)
        if not _is_count(zero) or not _is_count(total) or total != zero + sum(counts):
            raise ValueError("sketch counts do not add up")
        sketch.zero_count, sketch.count, sketch.sum = zero, total, _number(data, "s")
        if total:
            sketch.min, sketch.max = _number(data, "min"), _number(data, "max")
            if not 0 <= sketch.min <= sketch.max:
                raise ValueError("sketch min and max are inconsistent")
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"QuantileSketch(n={self.count}, relative_accuracy={self.relative_accuracy})"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"sketch field {key!r} must be a finite number")
    return float(value)
