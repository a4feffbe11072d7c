"""AdaptiveLimiter: halve on 429 (once per burst, not below 1), grow by one after N successes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.providers import openai_chat
from shared.providers.concurrency import AdaptiveLimiter, LimiterPool
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import Completion, ProviderCredential
from shared.providers.retries import call_with_retries
from tests.providers.builders import chat
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer


def rate_limit_error() -> ProviderError:
    return ProviderError(ErrorKind.RATE_LIMIT, "slow down", provider="test", status=429)


async def fail_inside(limiter: AdaptiveLimiter, error: Exception) -> None:
    with pytest.raises(type(error)):
        async with limiter:
            raise error


async def succeed_inside(limiter: AdaptiveLimiter, times: int = 1) -> None:
    for _ in range(times):
        async with limiter:
            pass


async def test_halves_on_429_and_not_below_one() -> None:
    limiter = AdaptiveLimiter(initial=8, maximum=16)
    limits = []
    for _ in range(5):
        await fail_inside(limiter, rate_limit_error())
        limits.append(limiter.limit)
    assert limits == [4, 2, 1, 1, 1]


async def test_grows_by_one_after_n_successes_up_to_the_maximum() -> None:
    limiter = AdaptiveLimiter(initial=1, maximum=3, grow_after=3)
    await succeed_inside(limiter, 2)
    assert limiter.limit == 1
    await succeed_inside(limiter, 1)
    assert limiter.limit == 2
    await succeed_inside(limiter, 3)
    assert limiter.limit == 3
    await succeed_inside(limiter, 9)
    assert limiter.limit == 3


async def test_other_errors_restart_the_streak_without_halving() -> None:
    limiter = AdaptiveLimiter(initial=2, maximum=8, grow_after=2)
    await succeed_inside(limiter)
    await fail_inside(limiter, ProviderError(ErrorKind.TRANSIENT, "500", provider="test", status=500))
    await succeed_inside(limiter)
    assert limiter.limit == 2
    await succeed_inside(limiter)
    assert limiter.limit == 3


async def test_admits_at_most_limit_calls_at_once() -> None:
    limiter = AdaptiveLimiter(initial=2, maximum=2)
    gate = asyncio.Event()
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter:
            peak = max(peak, limiter.in_flight)
            await gate.wait()

    tasks = [asyncio.create_task(call()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert limiter.in_flight == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert peak == 2
    assert limiter.in_flight == 0


async def test_a_burst_of_429s_from_calls_already_in_flight_halves_once() -> None:
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    entered = asyncio.Event()
    release = asyncio.Event()
    inside = 0

    async def call() -> None:
        nonlocal inside
        async with limiter:
            inside += 1
            if inside == 4:
                entered.set()
            await release.wait()
            raise rate_limit_error()

    tasks = [asyncio.create_task(call()) for _ in range(4)]
    await entered.wait()
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, ProviderError) for result in results)
    assert limiter.limit == 4  # one congestion event, one halving (not 8 -> 0.5)


async def test_limiter_around_a_real_call_halves_on_the_providers_429(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    limited = load("openai/error_429_rate_limit_exceeded_legacy").reply()
    server.enqueue(limited, load("openai/chat_nonstream_gpt4o").reply())
    limiter = LimiterPool(initial=4, maximum=8, grow_after=1).get("cred-1", "gpt-4o")

    async def attempt() -> Completion:
        async with limiter:
            return await openai_chat.complete(client, openai_credential, chat(stream=False))

    async def no_sleep(seconds: float) -> None:
        del seconds

    completion = await call_with_retries(attempt, budget_s=5, max_retries=2, sleep=no_sleep)
    assert completion.retries == 1
    assert limiter.limit == 3  # 4 -> 2 on the 429, +1 on the success (grow_after=1)


def test_pool_keeps_one_limiter_per_credential_and_model() -> None:
    pool = LimiterPool()
    assert pool.get("a", "m") is pool.get("a", "m")
    assert pool.get("a", "m") is not pool.get("a", "n")
    assert pool.get("a", "m") is not pool.get("b", "m")


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="initial"):
        AdaptiveLimiter(initial=0)
    with pytest.raises(ValueError, match="grow_after"):
        AdaptiveLimiter(grow_after=0)
