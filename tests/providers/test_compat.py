"""OpenAI-compatible providers (Groq, Mistral, Together, Ollama, DeepSeek) through their profiles."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.providers import openai_chat
from shared.providers.compat import DEEPSEEK, GROQ, MISTRAL, OLLAMA, TOGETHER
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import FinishReason, GenerationParams, JsonSchemaFormat, ProviderCredential
from tests.providers.builders import chat
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer


async def test_groq_non_streaming(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/groq_nonstream").reply())
    completion = await openai_chat.complete(
        client,
        openai_credential,
        chat("llama-3.3-70b-versatile", stream=False, params=GenerationParams(max_tokens=100)),
        profile=GROQ,
    )
    assert server.requests[0].json()["max_completion_tokens"] == 100
    assert completion.text == "The capital of France is Paris."
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (48, 8)
    assert completion.usage.cached_input_tokens is None  # Groq did not report it
    assert completion.request_id == "req_01jr8hj0hzeq9b86xqb5dn7wqs"  # x_groq.id: no header recorded


async def test_groq_stream_usage_in_the_finish_chunk(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/groq_stream_tool_call_usage_in_finish_chunk").reply())
    completion = await openai_chat.complete(client, openai_credential, chat("openai/gpt-oss-120b"), profile=GROQ)
    assert "stream_options" not in server.requests[0].json()
    assert completion.finish_reason is FinishReason.TOOL_CALLS
    assert completion.text == ""  # the `reasoning` deltas are not answer text
    assert completion.ttft_ms is None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (304, 49)
    assert completion.usage.reasoning_tokens == 23
    assert completion.request_id == "req_01khrvt32ze9rb75za4xqmdz13"


async def test_groq_usage_only_in_x_groq(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    # Older Groq streams put usage only under x_groq; derived from the recording by dropping the top-level copy.
    reply = load("compat/groq_stream_tool_call_usage_in_finish_chunk").reply()
    assert reply.chunks is not None
    reply.chunks = [chunk.replace(b'}}},"usage":{', b'}}},"ignored":{') for chunk in reply.chunks]
    assert sum(b'"ignored"' in chunk for chunk in reply.chunks) == 1
    server.enqueue(reply)
    completion = await openai_chat.complete(client, openai_credential, chat("openai/gpt-oss-120b"), profile=GROQ)
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (304, 49)


async def test_groq_mid_stream_error_event(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/groq_stream_midstream_error_event").reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat("openai/gpt-oss-120b"), profile=GROQ)
    error = caught.value
    assert error.kind is ErrorKind.REQUEST  # status_code 400 inside the event
    assert error.status == 400
    assert error.reason == "tool_use_failed"
    assert error.message.startswith("Tool call validation failed")
    assert error.request_id == "req_01khrvt2r6e9rb7e8qsg86ywkw"


async def test_groq_400(server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential) -> None:
    server.enqueue(load("compat/groq_error_400_tool_use_failed").reply())
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, openai_credential, chat(stream=False), profile=GROQ)
    assert (caught.value.kind, caught.value.status, caught.value.reason) == (ErrorKind.REQUEST, 400, "tool_use_failed")


async def test_mistral_non_streaming_cached_tokens_and_request_quirks(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/mistral_nonstream_cached_tokens").reply())
    params = GenerationParams(seed=3, max_tokens=50)
    completion = await openai_chat.complete(
        client, openai_credential, chat("mistral-small-latest", stream=False, params=params), profile=MISTRAL
    )
    body = server.requests[0].json()
    assert body["random_seed"] == 3
    assert "seed" not in body
    assert body["max_tokens"] == 50
    assert completion.usage.cached_input_tokens == 224
    assert completion.request_id == "019f94fe-2c2f-78ce-8013-ebdd056cd66e"  # mistral-correlation-id


async def test_mistral_stream_thinking_is_not_text_and_usage_is_in_the_finish_chunk(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    recording = load("compat/mistral_stream_usage_in_finish_chunk")
    reply = recording.reply()
    assert reply.chunks is not None
    assert reply.delays is not None
    first_text = next(i for i, chunk in enumerate(reply.chunks) if b'"delta":{"content":"To"}' in chunk)
    reply.delays[first_text] = 0.1  # the thinking chunks before it must not stop the TTFT clock
    server.enqueue(reply)
    completion = await openai_chat.complete(client, openai_credential, chat("magistral-medium-latest"), profile=MISTRAL)
    assert "stream_options" not in server.requests[0].json()
    assert completion.text.startswith("To cross the street safely, follow these steps:")
    assert "Okay, the user" not in completion.text
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (10, 232)
    assert completion.ttft_ms is not None
    assert 100 <= completion.ttft_ms < completion.latency_ms


async def test_together_non_streaming_and_stream_usage_chunk(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/together_nonstream").reply(), load("compat/together_stream").reply())
    model = "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
    whole = await openai_chat.complete(client, openai_credential, chat(model, stream=False), profile=TOGETHER)
    streamed = await openai_chat.complete(client, openai_credential, chat(model), profile=TOGETHER)
    assert whole.text.endswith("The final answer is: $\\boxed{4242}$")
    assert (whole.usage.input_tokens, whole.usage.output_tokens) == (20, 86)
    assert whole.request_id == "oNv2nxk-28Eivz-9acd505148665af8"
    # Chunks carry both choices[].text and delta.content: counted once.
    assert streamed.text.startswith("## Step 1: Understand the problem\nThe problem requires")
    assert streamed.text.count("## Step 1") == 1
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (20, 79)
    assert streamed.usage.reasoning_tokens == 0
    assert streamed.usage.cached_input_tokens is None  # prompt_tokens_details: null


async def test_ollama_without_key_and_reasoning_field(server: ReplayServer, client: httpx.AsyncClient) -> None:
    credential = ProviderCredential(base_url=server.url("/v1"))
    server.enqueue(
        load("compat/ollama_v1_chat_completions_nonstream").reply(),
        load("compat/ollama_v1_chat_completions_reasoning").reply(),
    )
    plain = await openai_chat.complete(client, credential, chat("gemma3:4b", stream=False), profile=OLLAMA)
    thinking = await openai_chat.complete(client, credential, chat("qwen3:0.6b", stream=False), profile=OLLAMA)
    assert "authorization" not in server.requests[0].headers
    assert plain.text == "4200 + 42 = 4242\n"
    assert (plain.usage.input_tokens, plain.usage.output_tokens, plain.usage.reasoning_tokens) == (21, 16, None)
    assert thinking.text == '{ "city": "Paris", "country": "France" }'
    assert plain.model_version == "gemma3:4b"


async def test_deepseek_lacks_json_schema_and_seed(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("openai/docs_example_chat_completion").reply())
    schema = JsonSchemaFormat(name="X", json_schema={"type": "object"})
    params = GenerationParams(seed=1, response_format=schema)
    completion = await openai_chat.complete(
        client, openai_credential, chat("deepseek-chat", stream=False, params=params), profile=DEEPSEEK
    )
    body = server.requests[0].json()
    assert body["response_format"] == {"type": "json_object"}
    assert "seed" not in body
    assert completion.unsupported_params == ("seed", "response_format.json_schema")


async def test_deepseek_cache_hit_tokens() -> None:
    usage = openai_chat.usage_from_openai(
        {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}
    )
    assert (usage.input_tokens, usage.cached_input_tokens) == (100, 64)


async def test_a_server_that_ignores_stream_true(
    server: ReplayServer, client: httpx.AsyncClient, openai_credential: ProviderCredential
) -> None:
    server.enqueue(load("compat/ollama_v1_chat_completions_nonstream").reply())
    completion = await openai_chat.complete(client, openai_credential, chat("gemma3:4b"), profile=OLLAMA)
    assert completion.text == "4200 + 42 = 4242\n"
    assert completion.ttft_ms is None


async def test_missing_key_where_one_is_required(server: ReplayServer, client: httpx.AsyncClient) -> None:
    credential = ProviderCredential(api_key=SecretStr(""), base_url=server.url("/v1"))
    with pytest.raises(ProviderError) as caught:
        await openai_chat.complete(client, credential, chat(), profile=MISTRAL)
    assert caught.value.kind is ErrorKind.AUTH
    assert server.requests == []
