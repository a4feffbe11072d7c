"""Adaptive concurrency per (credential, model): multiplicative decrease on 429, additive increase.

Halving happens once per congestion event: calls that entered before the last decrease and then
return 429 too (a burst of in-flight calls all rejected together) do not halve the limit again.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from shared.providers.errors import ErrorKind, ProviderError


class AdaptiveLimiter:
    """An async context manager admitting at most `limit` concurrent calls; the limit adapts.

    A call that leaves with a rate-limit ProviderError halves the limit (not below 1); `grow_after`
    consecutive successes raise it by 1, up to `maximum`. Other failures leave the limit alone but
    restart the success streak.
    """

    def __init__(self, *, initial: int = 4, maximum: int = 32, grow_after: int = 10) -> None:
        if not 1 <= initial <= maximum:
            raise ValueError("need 1 <= initial <= maximum")
        if grow_after < 1:
            raise ValueError("grow_after must be at least 1")
        self._limit = initial
        self._maximum = maximum
        self._grow_after = grow_after
        self._in_flight = 0
        self._streak = 0
        self._epoch = 0  # bumped on every decrease
        self._entered_epoch: dict[asyncio.Task[object], int] = {}
        self._changed = asyncio.Condition()

    @property
    def limit(self) -> int:
        """How many calls may run at once right now."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """How many calls are running."""
        return self._in_flight

    async def __aenter__(self) -> Self:
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_flight < self._limit)
            self._in_flight += 1
            task = asyncio.current_task()
            if task is not None:
                self._entered_epoch[task] = self._epoch
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        task = asyncio.current_task()
        entered = self._entered_epoch.pop(task, self._epoch) if task is not None else self._epoch
        async with self._changed:
            self._in_flight -= 1
            if isinstance(exc, ProviderError) and exc.kind is ErrorKind.RATE_LIMIT:
                self._on_rate_limited(entered)
            elif exc is None:
                self._on_success()
            else:
                self._streak = 0
            self._changed.notify_all()

    def _on_rate_limited(self, entered_epoch: int) -> None:
        self._streak = 0
        if entered_epoch == self._epoch:
            self._limit = max(1, self._limit // 2)
            self._epoch += 1

    def _on_success(self) -> None:
        self._streak += 1
        if self._streak >= self._grow_after:
            self._streak = 0
            self._limit = min(self._maximum, self._limit + 1)


class LimiterPool:
    """One AdaptiveLimiter per (credential id, model), created on first use with the pool's settings."""

    def __init__(self, *, initial: int = 4, maximum: int = 32, grow_after: int = 10) -> None:
        self._settings = {"initial": initial, "maximum": maximum, "grow_after": grow_after}
        self._limiters: dict[tuple[str, str], AdaptiveLimiter] = {}

    def get(self, credential_id: str, model: str) -> AdaptiveLimiter:
        """The limiter for this credential and model."""
        key = (credential_id, model)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = AdaptiveLimiter(**self._settings)
        return limiter
