"""Anthropic Messages adapter against replayed Anthropic recordings."""

from __future__ import annotations

import json

import httpx
import pytest

from shared.providers import anthropic_messages
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import FinishReason, GenerationParams, ProviderCredential
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer


async def test_non_streaming_request_and_result(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/messages_nonstream").reply())
    params = GenerationParams(temperature=0.5, top_p=0.9, stop=("###",), seed=1, response_format="json_object")
    completion = await anthropic_messages.complete(
        client, anthropic_credential, chat("claude-sonnet-4-0", stream=False, system="Be brief.", params=params)
    )
    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == API_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json() == {
        "model": "claude-sonnet-4-0",
        "max_tokens": anthropic_messages.DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "What is 4200 + 42?"}],
        "system": "Be brief.",
        "temperature": 0.5,
        "top_p": 0.9,
        "stop_sequences": ["###"],
    }
    assert completion.unsupported_params == ("seed", "response_format")
    assert completion.text == "4200 + 42 = 4242"
    assert completion.finish_reason is FinishReason.STOP
    assert completion.finish_reason_raw == "end_turn"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (17, 15)
    assert (completion.usage.cached_input_tokens, completion.usage.cache_write_tokens) == (0, 0)
    assert completion.usage.reasoning_tokens is None
    assert completion.request_id == "req_011CWF2CNoHfDY1Jfot98FQo"
    assert completion.response_id == "msg_01EXuhhFC9buDpjCcznFPSDs"
    assert completion.model_version == "claude-sonnet-4-20250514"


async def test_non_streaming_cache_read_and_write(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/messages_nonstream_cache_read_and_write").reply())
    completion = await anthropic_messages.complete(client, anthropic_credential, chat(stream=False))
    usage = completion.usage
    assert usage.input_tokens == 3 + 418 + 1111  # input_tokens excludes both cache parts
    assert usage.cached_input_tokens == 1111
    assert usage.cache_write_tokens == 418
    assert usage.output_tokens == 33
    assert usage.raw is not None
    assert usage.raw["input_tokens"] == 3


async def test_stream_sdk_fixture(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    reply = load("anthropic/messages_stream_sdk_basic_fixture").reply()
    assert reply.delays is not None
    reply.delays[3] = 0.1  # before the first text delta (after message_start, content_block_start, ping)
    server.enqueue(reply)
    completion = await anthropic_messages.complete(client, anthropic_credential, chat("claude-3-opus-latest"))
    assert server.requests[0].json()["stream"] is True
    assert completion.text == "Hello there!"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (11, 6)  # 6 replaces the placeholder 1
    assert completion.usage.cached_input_tokens is None  # not reported in this stream
    assert completion.ttft_ms is not None
    assert 100 <= completion.ttft_ms < completion.latency_ms


async def test_stream_with_headers_and_padded_json(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/messages_stream_with_ratelimit_headers").reply())
    completion = await anthropic_messages.complete(client, anthropic_credential, chat("claude-sonnet-4-5"))
    assert completion.text == "- Captain\n- Scoop"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (17, 10)
    assert completion.request_id == "req_011CYEXg9iLMo4YhB4XfkXBw"
    assert completion.model_version == "claude-sonnet-4-5-20250929"


async def test_stream_output_tokens_are_cumulative_not_added(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/messages_stream_minimal").reply())
    completion = await anthropic_messages.complete(client, anthropic_credential, chat())
    assert completion.text == "2"
    assert completion.usage.output_tokens == 5  # not 1 + 5


async def test_stream_cache_read_from_message_start_survives_a_delta_without_it(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    # Derived from the SDK fixture: message_start reports cache reads; message_delta (older shape) only
    # the final output count. Usage must combine both events.
    recording = load("anthropic/messages_stream_sdk_basic_fixture")
    reply = recording.reply()
    assert reply.chunks is not None
    start = json.loads(reply.chunks[0].split(b"data: ", 1)[1])
    start["message"]["usage"].update({"cache_read_input_tokens": 2048, "cache_creation_input_tokens": 0})
    reply.chunks[0] = b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\n"
    server.enqueue(reply)
    completion = await anthropic_messages.complete(client, anthropic_credential, chat())
    usage = completion.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (11 + 2048, 2048, 6)


async def test_stream_message_delta_usage_overrides_message_start(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/messages_stream_cache_read").reply())
    completion = await anthropic_messages.complete(client, anthropic_credential, chat("claude-sonnet-4-6"))
    assert completion.text == "Hello! 👋"  # the compaction block is not answer text
    usage = completion.usage
    # message_start said input 100 + cache read 55096; the final message_delta says input 181, cache read 0.
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (181, 0, 8)
    assert usage.raw is not None
    assert len(usage.raw["iterations"]) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_401_is_auth(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential, stream: bool
) -> None:
    name = "anthropic/error_401_authentication_error" + ("_on_stream_request" if stream else "")
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await anthropic_messages.complete(client, anthropic_credential, chat(stream=stream))
    error = caught.value
    assert (error.kind, error.status, error.reason) == (ErrorKind.AUTH, 401, "authentication_error")
    assert error.message == "invalid x-api-key"
    assert error.request_id is not None
    assert error.request_id.startswith("req_011CWdM")


async def test_429_retry_after(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/error_429_rate_limit_error").reply())
    with pytest.raises(ProviderError) as caught:
        await anthropic_messages.complete(client, anthropic_credential, chat(stream=False))
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.RATE_LIMIT, "rate_limit_error")
    assert caught.value.retry_after_s == 16


@pytest.mark.parametrize(
    "name", ["anthropic/error_529_overloaded_error", "anthropic/error_529_overloaded_error_with_request_id"]
)
async def test_529_overloaded_is_transient(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential, name: str
) -> None:
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await anthropic_messages.complete(client, anthropic_credential, chat(stream=False))
    error = caught.value
    assert (error.kind, error.status, error.reason) == (ErrorKind.TRANSIENT, 529, "overloaded_error")
    assert error.retryable
    assert error.retry_after_s is None  # the 529 carries no retry-after: back-off decides
    assert error.request_id in {"req_01RCc7MbLyQNtGKzBTv8VCep", "req_011CZAau32QzxDkriovTaFCB"}


async def test_404_is_a_request_error(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    server.enqueue(load("anthropic/docs_example_error_not_found").reply())
    with pytest.raises(ProviderError) as caught:
        await anthropic_messages.complete(client, anthropic_credential, chat(stream=False))
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.REQUEST, "not_found_error")
    assert caught.value.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"  # from the body


async def test_mid_stream_error_event(
    server: ReplayServer, client: httpx.AsyncClient, anthropic_credential: ProviderCredential
) -> None:
    # The documented `event: error` arriving after two real events of a 200 stream.
    stream = load("anthropic/messages_stream_minimal").reply()
    error_event = load("anthropic/docs_example_stream_error_event").reply()
    assert stream.chunks is not None
    assert error_event.chunks is not None
    stream.chunks, stream.delays = stream.chunks[:2] + error_event.chunks, None
    server.enqueue(stream)
    with pytest.raises(ProviderError) as caught:
        await anthropic_messages.complete(client, anthropic_credential, chat())
    error = caught.value
    assert (error.kind, error.reason, error.status) == (ErrorKind.TRANSIENT, "overloaded_error", None)
    assert error.message == "Overloaded"
