"""Counting a shard's provider attempts per provider, model and minute, for provider status.

A `CallTally` lives for one shard execution. Each `TargetCaller` holds the `ModelCalls` of its
provider and model and is told the outcome of every attempt by the retry loop
(`shared.providers.retries.AttemptObserver`): a few integer increments and, for a success, one
sketch insertion. Nothing here does I/O; the executor turns the changed minutes into rows at its
existing flushes (`CallTally.take_changed`).

Keys (table `providercalls`): PK `<tenant>~<project>`, RK
`<minute>~<provider>~<model key>~<shard>~<execution>`, where the minute is `2026-11-27T18:55Z`
and the execution is the shard row's `attempts` after the execution claimed it.
- The minute comes first so that a window (the last 15 minutes, hour or day) is one range query
  on one partition, bounded by the rows of that window, for every provider and model at once.
- A row belongs to one execution of one shard: no two writers share a row, so there is no
  read-modify-write and no ETag contention between shards.
- A row holds the execution's cumulative counts for that minute and is replaced whole at each
  flush, so writing it twice (a flush retried after a storage error) counts nothing twice.
- A redelivered shard is a new execution (the shard row's `attempts` grows), so it writes its
  own rows and counts only the calls it makes itself; it skips the items already stored, so the
  calls it makes are real new provider calls. The rows of the execution that crashed stay, with
  what they had flushed. A duplicate message delivered while the first execution still runs
  reads the same `attempts` and would share its rows: the later flush wins, an undercount of one
  execution's minute at worst, never a double count.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

from shared.clock import Clock
from shared.providers.errors import ErrorKind
from shared.stats.percentiles import QuantileSketch
from shared.storage import TableModel
from shared.tenancy.records import scope_key

ErrorClass = Literal["rate_limited", "server", "timeout", "other"]

MINUTE_FORMAT = "%Y-%m-%dT%H:%MZ"
_ONE_MINUTE = timedelta(minutes=1)
# Characters a Table key may not hold (`/ \ # ?`, controls), our separator `~`, and `%` itself
# so that the encoding is reversible.
_KEY_UNSAFE = re.compile(r"[%/\\#?~\x00-\x1f\x7f-\x9f]")


def encode_key_part(text: str) -> str:
    """`text` made safe for a Table key: unsafe characters percent-encoded (UTF-8), the rest as is."""
    return _KEY_UNSAFE.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), text)


def decode_key_part(key: str) -> str:
    """The text `encode_key_part` encoded."""
    return unquote(key)


def minute_key(at: datetime) -> str:
    """The minute `at` falls in, as it starts a RowKey (`2026-11-27T18:55Z`; sorts as time does)."""
    return at.astimezone(UTC).strftime(MINUTE_FORMAT)


def error_class(kind: ErrorKind, status: int | None) -> ErrorClass:
    """How provider status counts a failed attempt: rate limited, server (5xx), timeout or other."""
    if kind is ErrorKind.RATE_LIMIT:
        return "rate_limited"
    if kind is ErrorKind.TIMEOUT:
        return "timeout"
    if status is not None and status >= 500:
        return "server"
    return "other"


class ProviderCallRecord(TableModel):
    """One shard execution's attempts at one provider and model in one minute (see the module)."""

    provider: str
    model: str
    minute: datetime
    shard_id: str
    calls: int
    successes: int
    rate_limited: int
    server_errors: int
    timeouts: int
    other_errors: int
    latency: dict[str, Any] | None = None  # QuantileSketch.to_dict() of the successful attempts, in ms
    last_error_at: datetime | None = None
    last_error_class: ErrorClass | None = None


class MinuteCounts:
    """Counters of one provider and model in one minute (mutable, one per minute in use)."""

    __slots__ = (
        "calls",
        "changed",
        "last_error_at",
        "last_error_class",
        "latency",
        "other_errors",
        "rate_limited",
        "server_errors",
        "start",
        "successes",
        "timeouts",
    )

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.calls = 0
        self.successes = 0
        self.rate_limited = 0
        self.server_errors = 0
        self.timeouts = 0
        self.other_errors = 0
        self.latency = QuantileSketch()
        self.last_error_at: datetime | None = None
        self.last_error_class: ErrorClass | None = None
        self.changed = False


class ModelCalls:
    """The attempts at one provider and model during one shard execution, by minute.

    Implements `AttemptObserver`. The current minute's counters are kept at hand, so an attempt
    costs one clock reading, one comparison and a few increments.
    """

    __slots__ = ("_clock", "_current", "_ends", "minutes", "model", "provider")

    def __init__(self, provider: str, model: str, clock: Clock) -> None:
        self.provider = provider
        self.model = model
        self._clock = clock
        self.minutes: dict[datetime, MinuteCounts] = {}
        self._current: MinuteCounts | None = None
        self._ends: datetime | None = None

    def _counts(self, now: datetime) -> MinuteCounts:
        current = self._current
        if current is not None and self._ends is not None and current.start <= now < self._ends:
            return current
        start = now.astimezone(UTC).replace(second=0, microsecond=0)
        counts = self.minutes.get(start)
        if counts is None:
            counts = self.minutes[start] = MinuteCounts(start)
        self._current, self._ends = counts, start + _ONE_MINUTE
        return counts

    def succeeded(self, latency_ms: float) -> None:
        """An attempt answered after `latency_ms`."""
        counts = self._counts(self._clock.now())
        counts.calls += 1
        counts.successes += 1
        if latency_ms >= 0:
            counts.latency.add(latency_ms)
        counts.changed = True

    def failed(self, kind: ErrorKind, status: int | None) -> None:
        """An attempt failed with `kind` (and HTTP `status` when there was one)."""
        now = self._clock.now()
        counts = self._counts(now)
        counts.calls += 1
        cls = error_class(kind, status)
        if cls == "rate_limited":
            counts.rate_limited += 1
        elif cls == "server":
            counts.server_errors += 1
        elif cls == "timeout":
            counts.timeouts += 1
        else:
            counts.other_errors += 1
        counts.last_error_at, counts.last_error_class = now, cls
        counts.changed = True


class CallTally:
    """Every provider and model one shard execution called (the target's and any judge's)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._models: dict[tuple[str, str], ModelCalls] = {}

    def for_model(self, provider: str, model: str) -> ModelCalls:
        """The counters of `provider` and `model` (made on first use; callers keep it)."""
        key = (provider, model)
        calls = self._models.get(key)
        if calls is None:
            calls = self._models[key] = ModelCalls(provider, model, self._clock)
        return calls

    def take_changed(
        self, tenant_id: str, project_id: str, shard_id: str, execution: int
    ) -> list[tuple[MinuteCounts, ProviderCallRecord]]:
        """Rows for the minutes that changed since the last take, marked unchanged.

        Hand the pairs back to `mark_changed` when writing them failed, so the next flush tries again.
        """
        taken: list[tuple[MinuteCounts, ProviderCallRecord]] = []
        partition = scope_key(tenant_id, project_id)
        for calls in self._models.values():
            for counts in calls.minutes.values():
                if not counts.changed:
                    continue
                counts.changed = False
                taken.append((counts, _record(partition, calls, counts, shard_id, execution)))
        return taken

    @staticmethod
    def mark_changed(taken: list[tuple[MinuteCounts, ProviderCallRecord]]) -> None:
        """Mark minutes changed again (their rows could not be written)."""
        for counts, _ in taken:
            counts.changed = True


def call_row_key(minute: datetime, provider: str, model: str, shard_id: str, execution: int) -> str:
    """The RowKey of one execution's counts of one provider and model in one minute."""
    parts = (minute_key(minute), encode_key_part(provider), encode_key_part(model), shard_id, str(execution))
    return "~".join(parts)


def _record(
    partition: str, calls: ModelCalls, counts: MinuteCounts, shard_id: str, execution: int
) -> ProviderCallRecord:
    return ProviderCallRecord(
        partition_key=partition,
        row_key=call_row_key(counts.start, calls.provider, calls.model, shard_id, execution),
        provider=calls.provider,
        model=calls.model,
        minute=counts.start,
        shard_id=shard_id,
        calls=counts.calls,
        successes=counts.successes,
        rate_limited=counts.rate_limited,
        server_errors=counts.server_errors,
        timeouts=counts.timeouts,
        other_errors=counts.other_errors,
        latency=counts.latency.to_dict() if counts.latency.count else None,
        last_error_at=counts.last_error_at,
        last_error_class=counts.last_error_class,
    )
