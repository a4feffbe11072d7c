"""Per-process bookkeeping of a run's concurrency: one semaphore per run, shared by its shards.

The host runs several shard messages at once; without this, each shard would allow the run's
full concurrency and the provider would see shards × concurrency requests in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class RunSlots:
    """Semaphores by run id, dropped when the last shard of the run in this process ends."""

    def __init__(self) -> None:
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextmanager
    def hold(self, run_id: str, concurrency: int) -> Iterator[asyncio.Semaphore]:
        """The run's semaphore for the duration of one shard."""
        semaphore, users = self._slots.get(run_id, (asyncio.Semaphore(concurrency), 0))
        self._slots[run_id] = (semaphore, users + 1)
        try:
            yield semaphore
        finally:
            semaphore, users = self._slots[run_id]
            if users <= 1:
                del self._slots[run_id]
            else:
                self._slots[run_id] = (semaphore, users - 1)

    def active(self) -> int:
        """How many runs hold slots now."""
        return len(self._slots)
