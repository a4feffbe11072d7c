"""One cell of a trend series: everything its metrics need, mergeable without the results.

An `Aggregate` is what a set of results (one run x target x hour, or a whole day of a target) adds
up to: counts and sums, plus latency and TTFT as `QuantileSketch`es. Two aggregates `merge` into
the aggregate of the union (counts and sums add, sketches merge exactly), so a daily point is the
merge of its hours and never needs the results again. `to_json` is compact (well under a Table
string property's 32K characters) and `from_json` checks what it reads.

Metrics (`metric(name)`), each a `MetricValue` with value, interval and n (None when n = 0):

- `quality`: mean score over scored items; normal interval from the sum of squares (the limit of
  the percentile bootstrap the run summary uses), clipped to [0, 1]; n = 1 gives (0, 1).
- `pass_rate`: share of judged items (passed is not None) that passed; Wilson interval.
- `error_rate`: errored items / items; Wilson interval.
- `latency_p50`, `latency_p95`, `ttft_p50` (milliseconds): from the sketches, within their 1%
  relative accuracy; the interval is the distribution-free one for a quantile (the values at ranks
  q +- z sqrt(q (1 - q) / n)).
- `tokens_per_second`: output tokens / (latency - TTFT) summed over streamed items with both
  timings, as in the run summary; no interval (low = high = None), n = those items.
- `cost_per_case`: cost (answer plus judge, as in the run summary) / priced items; normal interval
  from the sum of squares (none for n = 1). Unpriced items are left out, never counted as 0; n =
  priced items.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, get_args

from shared.runs.models import ItemStatus, ResultRecord
from shared.runs.summary import outcome
from shared.stats._bootstrap import z_for
from shared.stats.intervals import wilson_interval
from shared.stats.percentiles import QuantileSketch

AGGREGATE_FORMAT: Final = 1
CONFIDENCE: Final = 0.95
# 1% relative accuracy; 1024 buckets span 9 orders of magnitude at that accuracy, so two sketches
# stay far below a Table property's 32K characters whatever the latencies are.
SKETCH_ACCURACY: Final = 0.01
SKETCH_MAX_BINS: Final = 1024
MAX_JSON_CHARS: Final = 30_000
# Model and price versions kept per aggregate when the JSON would not fit otherwise (the most seen).
MAX_VERSIONS_WHEN_LARGE: Final = 16

Metric = Literal[
    "quality", "pass_rate", "latency_p50", "latency_p95", "ttft_p50", "tokens_per_second", "cost_per_case", "error_rate"
]
METRICS: Final[tuple[str, ...]] = get_args(Metric)

# The ResultRecord fields `from_results` reads (a rollup selects only these).
RESULT_FIELDS: Final[tuple[str, ...]] = (
    "PartitionKey",
    "RowKey",
    "target_id",
    "case_id",
    "trial",
    "status",
    "score",
    "passed",
    "output_tokens",
    "latency_ms",
    "ttft_ms",
    "model_version",
    "retries",
    "cost_usd",
    "judge_cost_usd",
    "price_version",
    "completed_at",
)


@dataclass(frozen=True)
class MetricValue:
    """A metric of one cell: its value, interval (None when the metric has none) and sample size."""

    value: float
    low: float | None
    high: float | None
    n: int


def _sketch() -> QuantileSketch:
    return QuantileSketch(SKETCH_ACCURACY, SKETCH_MAX_BINS)


@dataclass
class Aggregate:
    """Counts, sums and sketches of a set of results; see the module docstring for each metric."""

    items: int = 0
    errors: int = 0
    scored: int = 0
    score_sum: float = 0.0
    score_squares: float = 0.0
    judged: int = 0
    passes: int = 0
    latency: QuantileSketch = field(default_factory=_sketch)
    ttft: QuantileSketch = field(default_factory=_sketch)
    generated_tokens: int = 0
    generation_seconds: float = 0.0
    timed_items: int = 0
    cost_sum: Decimal = Decimal(0)
    cost_squares: float = 0.0
    priced: int = 0
    retries: int = 0
    model_versions: Counter[str] = field(default_factory=Counter)
    price_versions: Counter[str] = field(default_factory=Counter)

    # -- building ---------------------------------------------------------------------------------

    def add(self, row: ResultRecord) -> None:
        """Count one result row."""
        item = outcome(row)
        self.items += 1
        self.errors += row.status is ItemStatus.ERROR
        if item.score is not None and math.isfinite(item.score):
            self.scored += 1
            self.score_sum += item.score
            self.score_squares += item.score * item.score
        if item.passed is not None:
            self.judged += 1
            self.passes += item.passed
        if item.latency_ms is not None and math.isfinite(item.latency_ms) and item.latency_ms >= 0:
            self.latency.add(item.latency_ms)
        if item.ttft_ms is not None and math.isfinite(item.ttft_ms) and item.ttft_ms >= 0:
            self.ttft.add(item.ttft_ms)
        if (
            item.output_tokens is not None
            and item.latency_ms is not None
            and item.ttft_ms is not None
            and item.latency_ms > item.ttft_ms
        ):
            self.generated_tokens += item.output_tokens
            self.generation_seconds += (item.latency_ms - item.ttft_ms) / 1000
            self.timed_items += 1
        if item.cost is not None:
            self.priced += 1
            self.cost_sum += item.cost
            self.cost_squares += float(item.cost) ** 2
        self.retries += item.retries
        if row.model_version:
            self.model_versions[row.model_version] += 1
        if row.price_version:
            self.price_versions[row.price_version] += 1

    @classmethod
    def from_results(cls, rows: Iterable[ResultRecord]) -> Aggregate:
        """The aggregate of `rows`."""
        aggregate = cls()
        for row in rows:
            aggregate.add(row)
        return aggregate

    def merge(self, other: Aggregate) -> None:
        """Add `other` into this aggregate (the result is the aggregate of both sets of results)."""
        self.items += other.items
        self.errors += other.errors
        self.scored += other.scored
        self.score_sum += other.score_sum
        self.score_squares += other.score_squares
        self.judged += other.judged
        self.passes += other.passes
        self.latency.merge(other.latency)
        self.ttft.merge(other.ttft)
        self.generated_tokens += other.generated_tokens
        self.generation_seconds += other.generation_seconds
        self.timed_items += other.timed_items
        self.cost_sum += other.cost_sum
        self.cost_squares += other.cost_squares
        self.priced += other.priced
        self.retries += other.retries
        self.model_versions.update(other.model_versions)
        self.price_versions.update(other.price_versions)

    @classmethod
    def merged(cls, aggregates: Iterable[Aggregate]) -> Aggregate:
        """A new aggregate of all of `aggregates` (none of them is changed)."""
        total = cls()
        for aggregate in aggregates:
            total.merge(aggregate)
        return total

    # -- metrics ----------------------------------------------------------------------------------

    def metric(self, name: str) -> MetricValue | None:
        """The metric `name` (one of METRICS); None when it has no data. ValueError for an unknown name."""
        if name == "quality":
            return _mean_interval(self.score_sum, self.score_squares, self.scored, support=(0.0, 1.0))
        if name == "pass_rate":
            return _proportion(self.passes, self.judged)
        if name == "error_rate":
            return _proportion(self.errors, self.items)
        if name == "latency_p50":
            return _quantile(self.latency, 0.5)
        if name == "latency_p95":
            return _quantile(self.latency, 0.95)
        if name == "ttft_p50":
            return _quantile(self.ttft, 0.5)
        if name == "tokens_per_second":
            if self.generation_seconds <= 0:
                return None
            return MetricValue(self.generated_tokens / self.generation_seconds, None, None, self.timed_items)
        if name == "cost_per_case":
            return _mean_interval(float(self.cost_sum), self.cost_squares, self.priced, support=(0.0, math.inf))
        raise ValueError(f"unknown metric {name!r}; one of {', '.join(METRICS)}")

    # -- storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form with short keys."""
        return {
            "v": AGGREGATE_FORMAT,
            "n": self.items,
            "e": self.errors,
            "sn": self.scored,
            "ss": self.score_sum,
            "sq": self.score_squares,
            "jn": self.judged,
            "jp": self.passes,
            "lat": self.latency.to_dict(),
            "ttft": self.ttft.to_dict(),
            "gt": self.generated_tokens,
            "gs": self.generation_seconds,
            "gn": self.timed_items,
            "cs": str(self.cost_sum),
            "cq": self.cost_squares,
            "cn": self.priced,
            "r": self.retries,
            "mv": dict(sorted(self.model_versions.items())),
            "pv": dict(sorted(self.price_versions.items())),
        }

    def to_json(self) -> str:
        """Compact JSON for a Table property; at most MAX_JSON_CHARS characters.

        Only version maps can grow without bound (a provider reporting a new version per call);
        when the JSON would be too long they keep their MAX_VERSIONS_WHEN_LARGE most seen entries.
        """
        text = json.dumps(self.to_dict(), separators=(",", ":"))
        if len(text) <= MAX_JSON_CHARS:
            return text
        data = self.to_dict()
        for key, versions in (("mv", self.model_versions), ("pv", self.price_versions)):
            data[key] = dict(versions.most_common(MAX_VERSIONS_WHEN_LARGE))
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_JSON_CHARS:  # pragma: no cover - the sketches are bounded well below this
            raise ValueError("aggregate does not fit a table property")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Aggregate:
        """Rebuild from `to_dict` output; ValueError on anything inconsistent."""
        if data.get("v") != AGGREGATE_FORMAT:
            raise ValueError(f"unknown aggregate format {data.get('v')!r}")
        try:
            return cls(
                items=_count(data["n"]),
                errors=_count(data["e"]),
                scored=_count(data["sn"]),
                score_sum=float(data["ss"]),
                score_squares=float(data["sq"]),
                judged=_count(data["jn"]),
                passes=_count(data["jp"]),
                latency=QuantileSketch.from_dict(data["lat"], SKETCH_MAX_BINS),
                ttft=QuantileSketch.from_dict(data["ttft"], SKETCH_MAX_BINS),
                generated_tokens=_count(data["gt"]),
                generation_seconds=float(data["gs"]),
                timed_items=_count(data["gn"]),
                cost_sum=Decimal(str(data["cs"])),
                cost_squares=float(data["cq"]),
                priced=_count(data["cn"]),
                retries=_count(data["r"]),
                model_versions=Counter({str(k): _count(v) for k, v in dict(data["mv"]).items()}),
                price_versions=Counter({str(k): _count(v) for k, v in dict(data["pv"]).items()}),
            )
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise ValueError(f"malformed aggregate: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Aggregate:
        """Rebuild from `to_json` output."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("an aggregate is a JSON object")
        return cls.from_dict(data)


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value


def _proportion(successes: int, n: int) -> MetricValue | None:
    if n == 0:
        return None
    low, high = wilson_interval(successes, n, CONFIDENCE)
    return MetricValue(successes / n, low, high, n)


def _mean_interval(total: float, squares: float, n: int, *, support: tuple[float, float]) -> MetricValue | None:
    if n == 0:
        return None
    mean = total / n
    if n == 1:
        # One value says nothing about spread: the whole support, or no interval when it is unbounded.
        if math.isinf(support[1]):
            return MetricValue(mean, None, None, n)
        return MetricValue(mean, support[0], support[1], n)
    # The sample variance from the sums; max(0) absorbs rounding when every value is equal.
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = z_for(CONFIDENCE) * math.sqrt(variance / n)
    return MetricValue(mean, max(support[0], mean - half), min(support[1], mean + half), n)


def _quantile(sketch: QuantileSketch, q: float) -> MetricValue | None:
    value = sketch.quantile(q)
    if value is None:
        return None
    n = sketch.count
    spread = z_for(CONFIDENCE) * math.sqrt(q * (1 - q) / n)
    low = sketch.quantile(max(0.0, q - spread))
    high = sketch.quantile(min(1.0, q + spread))
    return MetricValue(value, low, high, n)
