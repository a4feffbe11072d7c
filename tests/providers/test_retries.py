"""call_with_retries against the replay server: waits honored, budgets enforced, retries counted."""

from __future__ import annotations

import time

import httpx
import pytest

from shared.providers import anthropic_messages, gemini, openai_chat
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import Completion, FinishReason, ProviderCredential, Usage
from shared.providers.retries import backoff_delay, call_with_retries
from tests.providers.builders import chat
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer, Reply


class RecordingSleep:
    """An injectable sleep that records the waits asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def rate_limited(retry_after: str) -> Reply:
    """The recorded OpenAI 429 body (its message hints 6ms) with a Retry-After header, which must win."""
    reply = load("openai/error_429_rate_limit_exceeded_legacy").reply()
    reply.headers.append(("Retry-After", retry_after))
    return reply


async def test_429_twice_then_200_honors_retry_after_and_counts_retries(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(rate_limited("1"), rate_limited("1"), load("openai/chat_nonstream_gpt4o").reply())
    sleep = RecordingSleep()

    async def attempt() -> Completion:
        return await openai_chat.complete(client, openai_credential, chat(stream=False))

    completion = await call_with_retries(attempt, budget_s=10, max_retries=3, sleep=sleep)
    assert completion.retries == 2
    assert sleep.waits == [1.0, 1.0]
    assert len(server.requests) == 3
    assert completion.text == "\\(4200 + 42 = 4242\\)."


async def test_hung_provider_hits_the_budget_and_raises_timeout(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: openai_chat.complete(client, openai_credential, chat(stream=False)),
            budget_s=1.0,
            max_retries=3,
            sleep=RecordingSleep(),
        )
    elapsed = time.monotonic() - started
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.retries == 0
    assert "call budget of 1s" in caught.value.message
    assert 0.9 <= elapsed < 2.5


async def test_stream_that_stalls_midway_hits_the_budget(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    reply = load("anthropic/messages_stream_with_ratelimit_headers").reply()
    reply.hang_after_chunks = 4
    server.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: anthropic_messages.complete(client, anthropic_credential, chat()),
            budget_s=0.5,
            max_retries=2,
            sleep=RecordingSleep(),
        )
    assert caught.value.kind is ErrorKind.TIMEOUT


async def test_500s_retried_a_bounded_number_of_times(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    failure = Reply(status=500, headers=[("Content-Type", "application/json")], body=b'{"error":{"message":"boom"}}')
    server.enqueue(failure, failure, failure, load("openai/chat_nonstream_gpt4o").reply())
    sleep = RecordingSleep()
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: openai_chat.complete(client, openai_credential, chat(stream=False)),
            budget_s=10,
            max_retries=2,
            sleep=sleep,
            rng=lambda: 0.5,
            base_delay_s=0.5,
        )
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retries == 2
    assert "after 2 retries" in str(caught.value)
    assert len(server.requests) == 3  # the queued success was never reached
    assert sleep.waits == [0.25, 0.5]  # full jitter at rng=0.5: half of 0.5 * 2**n


async def test_anthropic_529_is_retried(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/error_529_overloaded_error").reply(), load("anthropic/messages_nonstream").reply())
    completion = await call_with_retries(
        lambda: anthropic_messages.complete(client, anthropic_credential, chat(stream=False)),
        budget_s=10,
        max_retries=2,
        sleep=RecordingSleep(),
    )
    assert completion.retries == 1
    assert completion.text == "4200 + 42 = 4242"


@pytest.mark.parametrize(
    "name",
    ["openai/error_401_invalid_api_key", "openai/error_400_unsupported_value", "openai/error_429_insufficient_quota"],
)
async def test_auth_and_request_errors_stop_at_once(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential, name: str
) -> None:
    server.enqueue(load(name).reply(), load("openai/chat_nonstream_gpt4o").reply())
    sleep = RecordingSleep()
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: openai_chat.complete(client, openai_credential, chat(stream=False)),
            budget_s=10,
            max_retries=5,
            sleep=sleep,
        )
    assert caught.value.kind in {ErrorKind.AUTH, ErrorKind.REQUEST}
    assert caught.value.retries == 0
    assert sleep.waits == []
    assert len(server.requests) == 1


async def test_a_wait_longer_than_the_budget_gives_up_at_once(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    server.enqueue(load("gemini/error_429_resource_exhausted").reply())  # retryDelay 26s
    sleep = RecordingSleep()
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: gemini.complete(client, gemini_credential, chat(stream=False)),
            budget_s=5,
            max_retries=3,
            sleep=sleep,
        )
    assert caught.value.kind is ErrorKind.RATE_LIMIT
    assert caught.value.retry_after_s == 26
    assert sleep.waits == []


async def test_waits_count_against_the_budget() -> None:
    # A fake clock that the fake sleep advances: the budget runs out after two 1-second waits.
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    calls = 0

    async def always_limited() -> Completion:
        nonlocal calls
        calls += 1
        raise ProviderError(ErrorKind.RATE_LIMIT, "slow down", provider="test", status=429, retry_after_s=1.0)

    with pytest.raises(ProviderError) as caught:
        await call_with_retries(always_limited, budget_s=2.5, max_retries=10, sleep=sleep, clock=lambda: now[0])
    assert caught.value.kind is ErrorKind.RATE_LIMIT
    assert caught.value.retries == 2
    assert calls == 3


async def test_per_attempt_httpx_timeouts_are_retried(
    server: ReplayServer, openai_credential: ProviderCredential
) -> None:
    server.enqueue(Reply(hang=True), Reply(hang=True), load("openai/chat_nonstream_gpt4o").reply())
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2)) as short:
        completion = await call_with_retries(
            lambda: openai_chat.complete(short, openai_credential, chat(stream=False)),
            budget_s=10,
            max_retries=3,
            sleep=RecordingSleep(),
        )
    assert completion.retries == 2


async def test_rate_limit_without_a_hint_backs_off() -> None:
    attempts = 0

    async def limited_once() -> Completion:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ProviderError(ErrorKind.RATE_LIMIT, "429", provider="test", status=429)
        return Completion.model_validate(
            {
                "text": "ok",
                "finish_reason": "stop",
                "finish_reason_raw": "stop",
                "usage": {},
                "latency_ms": 1.0,
                "ttft_ms": None,
                "request_id": None,
                "response_id": None,
                "model_version": None,
            }
        )

    sleep = RecordingSleep()
    completion = await call_with_retries(limited_once, budget_s=5, max_retries=1, sleep=sleep, rng=lambda: 1.0)
    assert completion.retries == 1
    assert sleep.waits == [0.5]


def test_full_jitter_bounds() -> None:
    assert backoff_delay(0, rng=lambda: 0.0, base_s=0.5, cap_s=20) == 0
    assert backoff_delay(3, rng=lambda: 1.0, base_s=0.5, cap_s=20) == 4.0
    assert backoff_delay(10, rng=lambda: 1.0, base_s=0.5, cap_s=20) == 20.0  # capped


async def test_rate_limits_have_their_own_larger_cap() -> None:
    sleep = RecordingSleep()
    failures = {"n": 0}

    async def flaky(kind: ErrorKind, times: int) -> Completion:
        if failures["n"] < times:
            failures["n"] += 1
            raise ProviderError(kind, "busy", provider="openai", status=429, retry_after_s=0.01)
        return Completion(
            text="ok",
            finish_reason=FinishReason.STOP,
            finish_reason_raw="stop",
            usage=Usage(),
            latency_ms=1.0,
            ttft_ms=None,
            request_id=None,
            response_id=None,
            model_version=None,
        )

    # Six 429s in a row: beyond max_retries=4, within max_rate_limit_retries=10.
    done = await call_with_retries(
        lambda: flaky(ErrorKind.RATE_LIMIT, 6), budget_s=30, max_retries=4, max_rate_limit_retries=10, sleep=sleep
    )
    assert done.retries == 6
    # Transient errors keep the smaller cap.
    failures["n"] = 0
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: flaky(ErrorKind.TRANSIENT, 6), budget_s=30, max_retries=4, max_rate_limit_retries=10, sleep=sleep
        )
    assert caught.value.retries == 4
