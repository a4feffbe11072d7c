"""Per-process state of a run shared by its shards: the concurrency semaphore and the spending.

The host runs several shard messages at once; without a shared semaphore each shard would allow
the run's full concurrency, and without shared spending each shard would check the budget
against its own costs only and the run would overshoot it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class LocalRun:
    """One run as seen by this process."""

    slots: asyncio.Semaphore
    users: int = 0
    # Cost so far of each shard running here (stored and not yet stored rows).
    local: dict[str, Decimal] = field(default_factory=dict)
    # Cost of the run's other shards, as last read from their rows.
    remote: Decimal = Decimal(0)
    # The run row and shard rows are read once per interval for all shards here, not once per shard.
    cancelled: bool = False
    refreshed_at: float = float("-inf")
    refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self, every_s: float, read: Callable[[], Awaitable[None]]) -> None:
        """Call `read` unless another shard of the run did within the last `every_s` seconds."""
        async with self.refresh_lock:
            if time.monotonic() - self.refreshed_at < every_s:
                return
            await read()
            self.refreshed_at = time.monotonic()

    def spent(self) -> Decimal:
        """What the run has cost, as far as this process knows."""
        return self.remote + sum(self.local.values(), Decimal(0))

    def record(self, shard_id: str, cost: Decimal) -> None:
        """The shard's current cost."""
        self.local[shard_id] = cost

    def observe(self, shard_costs: Mapping[str, Decimal]) -> None:
        """Costs of every shard from the table; those running here are counted live instead."""
        self.remote = sum((cost for shard, cost in shard_costs.items() if shard not in self.local), Decimal(0))


class RunSlots:
    """`LocalRun`s by run id, dropped when the last shard of the run in this process ends."""

    def __init__(self) -> None:
        self._runs: dict[str, LocalRun] = {}

    @contextmanager
    def hold(self, run_id: str, concurrency: int, shard_id: str) -> Iterator[LocalRun]:
        """The run's shared state for the duration of one shard."""
        state = self._runs.setdefault(run_id, LocalRun(slots=asyncio.Semaphore(concurrency)))
        state.users += 1
        try:
            yield state
        finally:
            state.users -= 1
            state.local.pop(shard_id, None)
            if state.users <= 0:
                del self._runs[run_id]
