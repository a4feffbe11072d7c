"""Gemini adapter against replayed Gemini recordings."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.providers import gemini
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import FinishReason, GenerationParams, JsonSchemaFormat, ProviderCredential
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import Recording, load
from tests.providers.replay_server import ReplayServer


async def test_non_streaming_request_and_thought_tokens(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    server.enqueue(load("gemini/generate_content_thoughts").reply())
    schema = JsonSchemaFormat(name="Greeting", json_schema={"type": "object"})
    params = GenerationParams(temperature=0.1, top_p=0.8, max_tokens=256, seed=9, stop=("x",), response_format=schema)
    completion = await gemini.complete(
        client, gemini_credential, chat("gemini-2.5-flash", stream=False, system="You are a chatbot.", params=params)
    )
    sent = server.requests[0]
    assert sent.target == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in sent.target
    assert sent.json() == {
        "contents": [{"role": "user", "parts": [{"text": "What is 4200 + 42?"}]}],
        "systemInstruction": {"parts": [{"text": "You are a chatbot."}]},
        "generationConfig": {
            "temperature": 0.1,
            "topP": 0.8,
            "maxOutputTokens": 256,
            "seed": 9,
            "stopSequences": ["x"],
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object"},
        },
    }
    assert completion.text == "Hello! How can I help you today?"
    assert completion.finish_reason is FinishReason.STOP
    usage = completion.usage
    assert usage.input_tokens == 9
    assert usage.output_tokens == 9 + 34  # candidates exclude thoughts; output includes them
    assert usage.reasoning_tokens == 34
    assert usage.cached_input_tokens is None
    assert completion.model_version == "gemini-2.5-flash"
    assert completion.response_id == "bzlXaa_EE_aHqtsPi_zw8Ao"
    assert completion.request_id is None  # Gemini sends no request id header


@pytest.mark.parametrize(
    ("name", "text", "output", "thoughts", "model"),
    [
        (
            "gemini/generate_content_thoughts_pro",
            "The capital of France is **Paris**.",
            8 + 275,
            275,
            "models/gemini-2.5-pro",
        ),
        (
            "gemini/generate_content_thought_signature_vercel_fixture",
            "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.",
            28 + 244,
            244,
            "gemini-3-pro-preview",
        ),
    ],
)
async def test_non_streaming_more_thinking_models(
    server: ReplayServer,
    client: httpx.AsyncClient,
    gemini_credential: ProviderCredential,
    name: str,
    text: str,
    output: int,
    thoughts: int,
    model: str,
) -> None:
    server.enqueue(load(name).reply())
    completion = await gemini.complete(client, gemini_credential, chat("models/gemini-2.5-pro", stream=False))
    assert server.requests[0].path == "/v1beta/models/gemini-2.5-pro:generateContent"  # "models/" not doubled
    assert completion.text == text
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (output, thoughts)
    assert completion.model_version == model


async def test_stream_cumulative_usage_last_chunk_wins(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    reply = load("gemini/stream_sse_cumulative_usage_thoughts").reply(chunk_delay_s=0.05)
    server.enqueue(reply)
    completion = await gemini.complete(client, gemini_credential, chat("gemini-2.5-flash"))
    sent = server.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert sent.query == {"alt": ["sse"]}  # and no key=
    assert completion.text == "\n".join(str(n) for n in range(1, 31))
    usage = completion.usage
    # 31 -> 79 -> 80 candidates: the last chunk, not a sum.
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (18, 80 + 35, 35)
    assert completion.ttft_ms is not None
    assert completion.ttft_ms < completion.latency_ms - 50


async def test_stream_prompt_count_changes_in_the_last_chunk(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    server.enqueue(load("gemini/stream_sse_prompt_count_changes").reply())
    completion = await gemini.complete(client, gemini_credential, chat("gemini-2.0-flash-exp"))
    assert completion.text == "The capital of France is Paris.\n"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (13, 8)
    assert completion.usage.reasoning_tokens is None  # not a thinking model: not reported, not zero


async def test_stream_with_recorded_headers(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    server.enqueue(load("gemini/stream_sse_with_headers").reply())
    completion = await gemini.complete(client, gemini_credential, chat("gemini-2.5-flash"))
    assert completion.text.endswith("So, 4200 + 42 = **4242**.")
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (63 + 75, 75)


def _as_sse(recording: Recording) -> bytes:
    # The no-alt=sse recording is one JSON array; re-frame its elements as the SSE endpoint frames them.
    import json

    items = json.loads(recording.body)
    return b"".join(b"data: " + json.dumps(item).encode() + b"\r\n\r\n" for item in items)


async def test_thought_parts_are_not_text_and_do_not_start_ttft(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    from tests.providers.replay_server import Reply

    body = _as_sse(load("gemini/stream_json_array_no_alt_sse"))
    chunks = [piece + b"\r\n\r\n" for piece in body.split(b"\r\n\r\n") if piece]
    server.enqueue(Reply(headers=[("Content-Type", "text/event-stream")], chunks=chunks, delays=[0.0, 0.1, 0.01]))
    completion = await gemini.complete(client, gemini_credential, chat("gemini-flash-latest"))
    assert completion.text == "Scoop"
    assert completion.ttft_ms is not None
    assert completion.ttft_ms >= 100
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (2 + 291, 291)


@pytest.mark.parametrize(
    ("name", "stream"),
    [("gemini/error_400_api_key_invalid", False), ("gemini/error_400_api_key_invalid_on_stream_endpoint", True)],
)
async def test_400_api_key_invalid_is_auth(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential, name: str, stream: bool
) -> None:
    # The stream endpoint answers text/event-stream with a plain JSON body: read by status, not as SSE.
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await gemini.complete(client, gemini_credential, chat("gemini-2.5-flash", stream=stream))
    error = caught.value
    assert (error.kind, error.status, error.reason) == (ErrorKind.AUTH, 400, "API_KEY_INVALID")
    assert error.message == "API key not valid. Please pass a valid API key."


@pytest.mark.parametrize(
    ("name", "wait"),
    [("gemini/error_429_resource_exhausted", 26.0), ("gemini/error_429_retry_info_vercel_fixture", 34.4)],
)
async def test_429_resource_exhausted_with_retry_info(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential, name: str, wait: float
) -> None:
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await gemini.complete(client, gemini_credential, chat(stream=False))
    assert caught.value.kind is ErrorKind.RATE_LIMIT
    assert caught.value.retry_after_s == pytest.approx(wait)


async def test_mid_stream_error_chunk(
    server: ReplayServer, client: httpx.AsyncClient, gemini_credential: ProviderCredential
) -> None:
    reply = load("gemini/stream_sse_cumulative_usage_thoughts").reply()
    assert reply.chunks is not None
    error = b'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\r\n\r\n'
    reply.chunks, reply.delays = [reply.chunks[0], error], None
    server.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        await gemini.complete(client, gemini_credential, chat())
    assert (caught.value.kind, caught.value.status, caught.value.reason) == (ErrorKind.TRANSIENT, 503, "UNAVAILABLE")


async def test_base_url_with_version_is_kept(server: ReplayServer, client: httpx.AsyncClient) -> None:
    credential = ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.url("/v1"))
    server.enqueue(load("gemini/generate_content_thoughts").reply())
    await gemini.complete(client, credential, chat("gemini-2.5-flash", stream=False))
    assert server.requests[0].path == "/v1/models/gemini-2.5-flash:generateContent"
