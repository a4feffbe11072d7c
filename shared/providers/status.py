"""Provider status: what a project's own calls saw lately, per provider and model.

The shard worker writes one row per shard execution, provider, model and minute
(`shared.providers.call_counts` explains the keys and why counts are never doubled). Reading is
one range query on the project's partition, `RowKey ge <minute 24 hours ago>`: the minute leads
the RowKey, so the read is bounded by the rows of the last day (one per shard execution, model
and minute it was calling), whatever the project's history.

Windows are the last 15 minutes, hour and 24 hours, each made of the whole minutes that start
in it. Per window: attempts (retried ones included), successes, rate limits (429), server errors
(5xx), timeouts, other errors, the error rate (server errors, timeouts and other errors over
attempts; rate limits are counted apart), the rate-limit rate, latency p50/p95 of successful
attempts (merged sketches, within 1%) and the last error.

Status, from the last 15 minutes (`STATUS_WINDOW`), with at least `MIN_CALLS` attempts in it
(fewer prove nothing, and say `ok`):
- `down`: error rate >= 50%;
- `degraded`: error rate >= 10%, or rate-limit rate >= 10%, or p95 latency at least twice the
  p95 of the 24 hours before those 15 minutes (each side with at least `MIN_LATENCY_SAMPLES`
  successes). Rate limits alone never make a model `down`: the provider answers, it asks for less;
- `ok` otherwise.
Rows are kept `KEEP_FOR` (7 days) and removed by the daily retention timer (`prune`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.clock import Clock
from shared.providers.call_counts import ErrorClass, ProviderCallRecord, minute_key
from shared.stats.percentiles import QuantileSketch
from shared.storage import ModelTable, StorageAccount, Table, where
from shared.storage.catalog import PROVIDER_CALLS_TABLE
from shared.tenancy.records import scope_key

WINDOWS: Final[dict[str, timedelta]] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
}
STATUS_WINDOW: Final = "15m"
LONGEST_WINDOW: Final = "24h"
KEEP_FOR: Final = timedelta(days=7)

MIN_CALLS: Final = 5
DOWN_ERROR_RATE: Final = 0.5
DEGRADED_ERROR_RATE: Final = 0.1
DEGRADED_RATE_LIMIT_RATE: Final = 0.1
SLOWDOWN_FACTOR: Final = 2.0
MIN_LATENCY_SAMPLES: Final = 20

_PAGE: Final = 1000


class Status(StrEnum):
    """A model's status as the project's calls saw it (thresholds in the module docstring)."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass
class WindowStats:
    """The merged counts of one provider and model over one window."""

    calls: int = 0
    successes: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    timeouts: int = 0
    other_errors: int = 0
    latency: QuantileSketch = field(default_factory=QuantileSketch)
    last_error_at: datetime | None = None
    last_error_class: ErrorClass | None = None

    def add(self, row: ProviderCallRecord) -> None:
        """Merge one row into the window."""
        self.calls += row.calls
        self.successes += row.successes
        self.rate_limited += row.rate_limited
        self.server_errors += row.server_errors
        self.timeouts += row.timeouts
        self.other_errors += row.other_errors
        if row.latency is not None:
            self.latency.merge(QuantileSketch.from_dict(row.latency))
        if row.last_error_at is not None and (self.last_error_at is None or row.last_error_at > self.last_error_at):
            self.last_error_at, self.last_error_class = row.last_error_at, row.last_error_class

    @property
    def errors(self) -> int:
        """Failed attempts other than rate limits."""
        return self.server_errors + self.timeouts + self.other_errors

    @property
    def error_rate(self) -> float | None:
        """Errors (rate limits apart) over attempts; None without attempts."""
        return self.errors / self.calls if self.calls else None

    @property
    def rate_limit_rate(self) -> float | None:
        """Rate-limited attempts over attempts; None without attempts."""
        return self.rate_limited / self.calls if self.calls else None

    def p(self, q: float) -> float | None:
        """The q-quantile of the successful attempts' latency in ms (None: no success)."""
        return self.latency.quantile(q)


@dataclass(frozen=True)
class ModelStatus:
    """One provider and model: its status, why, and its figures per window."""

    provider: str
    model: str
    status: Status
    reasons: tuple[str, ...]
    windows: dict[str, WindowStats]


def _floor_minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def summarize(rows: Iterable[ProviderCallRecord], now: datetime) -> list[ModelStatus]:
    """Status and window figures per provider and model, ordered by provider then model."""
    starts = {name: _floor_minute(now - span) for name, span in WINDOWS.items()}
    status_start = starts[STATUS_WINDOW]
    windows: dict[tuple[str, str], dict[str, WindowStats]] = {}
    baselines: dict[tuple[str, str], WindowStats] = {}
    for row in rows:
        key = (row.provider, row.model)
        per_window = windows.setdefault(key, {name: WindowStats() for name in WINDOWS})
        for name, start in starts.items():
            if row.minute >= start:
                per_window[name].add(row)
        if starts[LONGEST_WINDOW] <= row.minute < status_start:
            baselines.setdefault(key, WindowStats()).add(row)
    statuses = []
    for (provider, model), per_window in sorted(windows.items()):
        if per_window[LONGEST_WINDOW].calls == 0:
            continue  # only rows of the future (a clock ahead of ours): nothing to say yet
        status, reasons = judge(per_window[STATUS_WINDOW], baselines.get((provider, model)))
        statuses.append(ModelStatus(provider, model, status, tuple(reasons), per_window))
    return statuses


def judge(recent: WindowStats, before: WindowStats | None) -> tuple[Status, list[str]]:
    """The status of the recent window, with the reasons (empty when ok)."""
    if recent.calls < MIN_CALLS:
        return Status.OK, []
    errors = recent.error_rate or 0.0
    limited = recent.rate_limit_rate or 0.0
    span = f"of {recent.calls} calls in the last 15 minutes"
    if errors >= DOWN_ERROR_RATE:
        return Status.DOWN, [f"errors on {errors:.0%} {span}"]
    reasons = []
    if errors >= DEGRADED_ERROR_RATE:
        reasons.append(f"errors on {errors:.0%} {span}")
    if limited >= DEGRADED_RATE_LIMIT_RATE:
        reasons.append(f"rate limited on {limited:.0%} {span}")
    recent_p95, before_p95 = recent.p(0.95), before.p(0.95) if before is not None else None
    if (
        recent_p95 is not None
        and before_p95 is not None
        and before is not None
        and recent.successes >= MIN_LATENCY_SAMPLES
        and before.successes >= MIN_LATENCY_SAMPLES
        and recent_p95 >= SLOWDOWN_FACTOR * before_p95
    ):
        reasons.append(
            f"p95 latency {recent_p95:.0f} ms in the last 15 minutes, "
            f"{recent_p95 / before_p95:.1f}x the {before_p95:.0f} ms of the 24 hours before"
        )
    return (Status.DEGRADED if reasons else Status.OK), reasons


class ProviderStatusStore:
    """The `providercalls` rows: written by the shard worker, read by the provider-status API."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, PROVIDER_CALLS_TABLE, ProviderCallRecord)
        self.clock = clock

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def write(self, rows: Sequence[ProviderCallRecord]) -> None:
        """Replace each row whole: rows hold cumulative counts, so writing one again changes nothing."""
        if rows:
            self.table.upsert_many(rows)

    def read(self, tenant_id: str, project_id: str, since: datetime) -> list[ProviderCallRecord]:
        """Every row of the project from the minute of `since` on (one range query, paged)."""
        query = where(
            "PartitionKey eq @pk and RowKey ge @low", pk=scope_key(tenant_id, project_id), low=minute_key(since)
        )
        rows: list[ProviderCallRecord] = []
        cursor: str | None = None
        while True:
            page = self.table.query(query, page_size=_PAGE, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    def status(self, tenant_id: str, project_id: str, now: datetime) -> list[ModelStatus]:
        """Every provider and model the project called in the 24 hours up to `now`, with its status."""
        return summarize(self.read(tenant_id, project_id, now - WINDOWS[LONGEST_WINDOW]), now)

    def prune(self) -> int:
        """Delete rows older than `KEEP_FOR`, in every project; returns how many (daily retention)."""
        cutoff = minute_key(self.clock.now() - KEEP_FOR)
        table: Table = self.table.table
        # The one query across partitions: a system job removing expired operational counts.
        old = [
            {"PartitionKey": entity.partition_key, "RowKey": entity.row_key}
            for entity in table.query_all(where("RowKey lt @cutoff", cutoff=cutoff), select=["PartitionKey", "RowKey"])
        ]
        if old:
            table.write_batch(("delete", key) for key in old)
        return len(old)
