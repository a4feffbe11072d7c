"""Bounded retries inside a total time budget, with the retry count reported on the outcome.

Auth and request errors stop at once. Rate limits wait what the provider asked for (Retry-After,
retry-after-ms, reset headers, body hints) and fall back to back-off when it gave no hint. Transient
errors and per-attempt timeouts back off exponentially with full jitter. Nothing waits past the budget:
when the wait the provider demands is longer than what is left, the call gives up at once with the
provider's error rather than sleeping into a certain timeout. Each attempt runs under an asyncio timeout
for the remaining budget, so a provider that accepts the connection and never answers cannot hang us.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import Completion, MonotonicClock

logger = logging.getLogger("tokenroute.providers")

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_BASE_DELAY_S = 0.5
DEFAULT_MAX_DELAY_S = 20.0


class AttemptObserver(Protocol):
    """Told the outcome of every attempt, retried ones included (provider status counts them)."""

    def succeeded(self, latency_ms: float) -> None:
        """An attempt answered, after `latency_ms`."""
        ...

    def failed(self, kind: ErrorKind, status: int | None) -> None:
        """An attempt failed with `kind` (HTTP `status` when there was one)."""
        ...


def backoff_delay(retry: int, *, rng: Callable[[], float], base_s: float, cap_s: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**retry)) — spreads out callers that failed together."""
    return rng() * min(cap_s, base_s * float(2**retry))


def _wait_for(error: ProviderError, retry: int, *, rng: Callable[[], float], base_s: float, cap_s: float) -> float:
    if error.retry_after_s is not None:
        return error.retry_after_s
    return backoff_delay(retry, rng=rng, base_s=base_s, cap_s=cap_s)


async def call_with_retries(
    fn: Callable[[], Awaitable[Completion]],
    *,
    budget_s: float,
    max_retries: int,
    sleep: Sleep = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    clock: MonotonicClock = time.monotonic,
    base_delay_s: float = DEFAULT_BASE_DELAY_S,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    provider: str = "provider",
    max_rate_limit_retries: int | None = None,
    observe: AttemptObserver | None = None,
) -> Completion:
    """Call `fn` until it succeeds, fails for good, runs out of retries or out of `budget_s` seconds.

    Returns the Completion with `retries` set; raises the last ProviderError with `retries` set, or a
    `timeout` ProviderError when the budget ran out during an attempt. Rate limits may get their own,
    larger cap (`max_rate_limit_retries`): waiting what the provider asks is cheap and a storm
    passes, while a failing provider should not be retried for long. `observe`, when given, hears the
    outcome of each attempt; it changes nothing about the retries.
    """
    started = clock()
    retries = 0
    last_provider = provider
    while True:
        remaining = budget_s - (clock() - started)
        completion: Completion | None = None
        if remaining > 0:
            try:
                async with asyncio.timeout(remaining):
                    completion = await fn()
            except TimeoutError:
                pass  # the budget ran out mid-attempt; raised below, outside the handler, so nothing chains
            except ProviderError as error:
                if observe is not None:
                    observe.failed(error.kind, error.status)
                error.retries = retries
                last_provider = error.provider
                wait = _wait_for(error, retries, rng=rng, base_s=base_delay_s, cap_s=max_delay_s)
                left = budget_s - (clock() - started)
                cap = max_retries
                if error.kind is ErrorKind.RATE_LIMIT and max_rate_limit_retries is not None:
                    cap = max_rate_limit_retries
                if not error.retryable or retries >= cap:
                    raise
                if wait >= left:
                    logger.info("giving up on %s: wait of %.2fs exceeds the %.2fs left", error.provider, wait, left)
                    raise
                logger.info(
                    "retrying %s after %s error (HTTP %s, request id %s), waiting %.2fs",
                    error.provider,
                    error.kind,
                    error.status,
                    error.request_id,
                    wait,
                )
                await sleep(wait)
                retries += 1
                continue
        if completion is None:
            if observe is not None and remaining > 0:
                observe.failed(ErrorKind.TIMEOUT, None)  # an attempt was cut off by the budget
            raise ProviderError(
                ErrorKind.TIMEOUT,
                f"no answer within the call budget of {budget_s:g}s",
                provider=last_provider,
                retries=retries,
            )
        if observe is not None:
            observe.succeeded(completion.latency_ms)
        return completion.model_copy(update={"retries": retries})
