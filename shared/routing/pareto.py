"""The Pareto frontier over quality (higher is better), cost and latency (lower is better)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    """A candidate's position; unknown values are the worst possible (an unmeasured cost is no saving)."""

    key: str
    quality: float | None
    cost: float | None
    latency: float | None

    def vector(self) -> tuple[float, float, float]:
        """(quality, -cost, -latency): larger is better in every coordinate."""
        return (
            self.quality if self.quality is not None else -math.inf,
            -self.cost if self.cost is not None else -math.inf,
            -self.latency if self.latency is not None else -math.inf,
        )


def dominates(a: Point, b: Point) -> bool:
    """True when `a` is at least as good as `b` everywhere and better somewhere."""
    va, vb = a.vector(), b.vector()
    return all(x >= y for x, y in zip(va, vb, strict=True)) and any(x > y for x, y in zip(va, vb, strict=True))


def frontier(points: Sequence[Point]) -> list[str]:
    """The keys of the points no other point dominates, in input order (O(n^2): candidates are few)."""
    return [p.key for p in points if not any(dominates(q, p) for q in points if q is not p)]
