"""OpenAI Chat Completions adapter against replayed OpenAI recordings."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.providers import openai_chat
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import FinishReason, GenerationParams, JsonSchemaFormat, ProviderCredential
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer, Reply


async def test_non_streaming_request_and_result(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/chat_nonstream_gpt4o").reply())
    params = GenerationParams(
        temperature=0.2, max_tokens=64, top_p=0.9, seed=7, stop=("END",), response_format="json_object"
    )
    completion = await openai_chat.complete(
        client, openai_credential, chat("gpt-4o", stream=False, system="Be brief.", params=params)
    )

    sent = server.requests[0]
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json() == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 4200 + 42?"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 64,
        "seed": 7,
        "stop": ["END"],
        "response_format": {"type": "json_object"},
    }
    assert completion.text == "\\(4200 + 42 = 4242\\)."
    assert completion.finish_reason is FinishReason.STOP
    assert completion.finish_reason_raw == "stop"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (16, 12)
    assert (completion.usage.cached_input_tokens, completion.usage.reasoning_tokens) == (0, 0)
    assert completion.request_id == "req_dd792cdddf7845ec888b05e89c829478"
    assert completion.response_id == "chatcmpl-CRkJFgcA6BuMrBur38ZHUXgT6zRjg"
    assert completion.model_version == "gpt-4o-2024-08-06"
    assert completion.ttft_ms is None
    assert completion.latency_ms > 0
    assert completion.retries == 0


async def test_json_schema_and_organization_header(server: ReplayServer, client: httpx.AsyncClient) -> None:
    credential = ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.url("/v1/"), organization="org-42")
    server.enqueue(load("openai/docs_example_chat_completion").reply())
    schema = JsonSchemaFormat(name="Answer", json_schema={"type": "object", "properties": {"n": {"type": "integer"}}})
    await openai_chat.complete(client, credential, chat(stream=False, params=GenerationParams(response_format=schema)))
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"  # a trailing slash on the base URL does not double up
    assert sent.headers["openai-organization"] == "org-42"
    assert sent.json()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": schema.json_schema, "strict": True},
    }


@pytest.mark.parametrize(
    ("name", "input_tokens", "output_tokens", "cached", "reasoning", "cache_write", "finish"),
    [
        ("openai/chat_nonstream_cached_tokens", 4020, 4, 4012, 0, 0, FinishReason.STOP),
        ("openai/chat_nonstream_o3mini_reasoning_tokens", 7, 87, 0, 64, None, FinishReason.STOP),
        ("openai/chat_nonstream_gpt5mini_length_all_reasoning", 13, 50, 0, 50, None, FinishReason.LENGTH),
    ],
)
async def test_non_streaming_usage_details(
    server: ReplayServer,
    client: httpx.AsyncClient,
    openai_credential: ProviderCredential,
    name: str,
    input_tokens: int,
    output_tokens: int,
    cached: int,
    reasoning: int,
    cache_write: int | None,
    finish: FinishReason,
) -> None:
    server.enqueue(load(name).reply())
    completion = await openai_chat.complete(client, openai_credential, chat(stream=False))
    usage = completion.usage
    assert (usage.input_tokens, usage.output_tokens) == (input_tokens, output_tokens)
    assert (usage.cached_input_tokens, usage.reasoning_tokens, usage.cache_write_tokens) == (
        cached,
        reasoning,
        cache_write,
    )
    assert completion.finish_reason is finish
    assert usage.raw is not None
    assert usage.raw["total_tokens"] == input_tokens + output_tokens


async def test_streaming_include_usage_and_ttft(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    recording = load("openai/chat_stream_include_usage")
    reply = recording.reply()
    # The role chunk comes first and carries no text; make it slow so TTFT must wait for the text.
    assert reply.delays is not None
    reply.delays[1] = 0.15
    server.enqueue(reply)
    completion = await openai_chat.complete(client, openai_credential, chat("gpt-4o-mini"))

    body = server.requests[0].json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert completion.text == "The result of \\( 1231 \\times 2331 \\) is \\( 2,869,461 \\)."
    assert completion.finish_reason is FinishReason.STOP
    # The usage chunk (choices: []) after the finish chunk.
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (87, 26)
    assert completion.usage.cached_input_tokens == 0
    assert completion.request_id == "req_51f3397f64a0302e34a4d78ea85e0585"
    assert completion.model_version == "gpt-4o-mini-2024-07-18"
    assert completion.ttft_ms is not None
    assert 150 <= completion.ttft_ms < completion.latency_ms


async def test_streaming_reasoning_cut_by_length_has_no_ttft(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/chat_stream_gpt5mini_reasoning_length").reply())
    completion = await openai_chat.complete(client, openai_credential, chat("gpt-5-mini"))
    assert completion.text == ""
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.ttft_ms is None  # no answer text ever arrived
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (50, 50)


async def test_streaming_tool_call(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/chat_stream_tool_call_include_usage_obfuscation").reply())
    completion = await openai_chat.complete(client, openai_credential, chat("gpt-4o-mini"))
    assert completion.finish_reason is FinishReason.TOOL_CALLS
    assert completion.text == ""
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (53, 15)


@pytest.mark.parametrize("stream", [False, True])
async def test_401_is_auth(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential, stream: bool
) -> None:
    name = "openai/error_401_invalid_api_key" + ("_on_stream_request" if stream else "")
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=stream))
    error = caught.value
    assert error.kind is ErrorKind.AUTH
    assert error.status == 401
    assert error.reason == "invalid_api_key"
    assert error.message.startswith("Incorrect API key provided: invalid-*****2345.")
    assert error.request_id in {"req_1963efc19b3b4865af98403581d580af", "req_e110441cdd4d4b489d1e949075fa96bc"}
    assert not error.retryable


async def test_429_rate_limit_with_wait_only_in_the_message(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/error_429_rate_limit_exceeded_tpm").reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False))
    error = caught.value
    assert error.kind is ErrorKind.RATE_LIMIT
    assert error.reason == "rate_limit_exceeded"
    assert error.retry_after_s == pytest.approx(18.642)
    assert error.retryable


async def test_429_with_headers_prefers_them(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    reply = load("openai/error_429_rate_limit_exceeded_legacy").reply()
    reply.headers += [("retry-after-ms", "2500"), ("x-ratelimit-reset-tokens", "6m0s")]
    server.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False))
    assert caught.value.retry_after_s == 2.5


async def test_429_insufficient_quota_is_not_retryable(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/error_429_insufficient_quota").reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False))
    assert caught.value.status == 429
    assert caught.value.kind is ErrorKind.AUTH
    assert caught.value.reason == "insufficient_quota"
    assert not caught.value.retryable


async def test_400_is_a_request_error(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/error_400_unsupported_value").reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat("o1-mini", stream=False, system="sys"))
    assert caught.value.kind is ErrorKind.REQUEST
    assert caught.value.reason == "unsupported_value"
    assert "does not support 'system'" in caught.value.message


@pytest.mark.parametrize(
    ("status", "kind"), [(500, ErrorKind.TRANSIENT), (503, ErrorKind.TRANSIENT), (404, ErrorKind.REQUEST)]
)
async def test_status_classification_for_non_json_bodies(
    server: ReplayServer,
    client: httpx.AsyncClient,
    openai_credential: ProviderCredential,
    status: int,
    kind: ErrorKind,
) -> None:
    server.enqueue(Reply(status=status, headers=[("Content-Type", "text/html")], body=b"<html>upstream  broke</html>"))
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False))
    assert caught.value.kind is kind
    assert caught.value.message == "<html>upstream broke</html>"


async def test_mid_stream_error_data_without_event_name(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    # OpenAI reports a failure after the 200 as a data chunk holding an error object.
    recording = load("openai/chat_stream_include_usage")
    reply = recording.reply()
    assert reply.chunks is not None
    reply.chunks = [
        *reply.chunks[:3],
        b'data: {"error":{"message":"The server had an error","type":"server_error","code":null}}\n\n',
    ]
    reply.delays = None
    server.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat())
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.reason == "server_error"
    assert caught.value.request_id == "req_51f3397f64a0302e34a4d78ea85e0585"


async def test_stream_cut_before_the_end_is_transient(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    reply = load("openai/chat_stream_include_usage").reply()
    assert reply.chunks is not None
    reply.chunks, reply.delays = reply.chunks[:5], None
    server.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat())
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "ended before" in caught.value.message


async def test_redirects_are_not_followed(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(Reply(status=307, headers=[("Location", server.url("/elsewhere"))]))
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False))
    assert caught.value.kind is ErrorKind.REQUEST
    assert caught.value.status == 307
    assert len(server.requests) == 1
