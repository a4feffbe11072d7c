"""Azure OpenAI adapter: both URL forms, the api-key header, prompt-filter chunks, content filter errors."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.providers import azure_openai
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import FinishReason, GenerationParams, ProviderCredential
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer


async def test_deployment_url_non_streaming(
    server: ReplayServer, client: httpx.AsyncClient, azure_deployment_credential: ProviderCredential
) -> None:
    server.enqueue(load("azure/chat_nonstream_deployments_url").reply())
    completion = await azure_openai.complete(
        client, azure_deployment_credential, chat("gpt-4o-mini", stream=False, params=GenerationParams(max_tokens=20))
    )
    sent = server.requests[0]
    assert sent.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert sent.query == {"api-version": ["2024-10-21"]}
    assert sent.headers["api-key"] == API_KEY
    assert "authorization" not in sent.headers
    assert "model" not in sent.json()  # the deployment is the model
    assert sent.json()["max_completion_tokens"] == 20
    assert completion.text == "4200 + 42 equals 4242."
    assert completion.model_version == "gpt-4o-mini-2024-07-18"
    assert completion.request_id == "4034b75d-5e8a-4751-843e-56c41838a80d"


async def test_deployment_url_preview_version(server: ReplayServer, client: httpx.AsyncClient) -> None:
    credential = ProviderCredential(
        api_key=SecretStr(API_KEY),
        azure_endpoint=server.base_url + "/",
        azure_deployment="gpt-4o",
        azure_api_version="2024-12-01-preview",
    )
    server.enqueue(load("azure/chat_nonstream_deployments_url_2024_12_01_preview").reply())
    completion = await azure_openai.complete(client, credential, chat("gpt-4o", stream=False))
    assert server.requests[0].target == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-12-01-preview"
    assert completion.text == "The capital of France is **Paris**."
    assert completion.request_id == "1d93fae1-cb8e-4789-8fb6-d26577a3cb77"  # apim-request-id


async def test_v1_url_non_streaming(
    server: ReplayServer, client: httpx.AsyncClient, azure_v1_credential: ProviderCredential
) -> None:
    server.enqueue(load("azure/chat_nonstream_v1_url").reply())
    completion = await azure_openai.complete(client, azure_v1_credential, chat("gpt-5-mini", stream=False))
    sent = server.requests[0]
    assert sent.target == "/openai/v1/chat/completions"
    assert sent.json()["model"] == "gpt-5-mini"
    assert sent.headers["api-key"] == API_KEY
    assert completion.text == "4242"
    assert completion.model_version == "gpt-5-mini-2025-08-07"


async def test_deployment_stream_prompt_filter_chunk_first_and_no_usage(
    server: ReplayServer, client: httpx.AsyncClient, azure_deployment_credential: ProviderCredential
) -> None:
    server.enqueue(load("azure/chat_stream_deployments_url").reply())
    completion = await azure_openai.complete(client, azure_deployment_credential, chat("gpt-4o-mini"))
    assert server.requests[0].json()["stream_options"] == {"include_usage": True}
    assert completion.text == "4200 + 42 equals 4242."
    assert completion.finish_reason is FinishReason.STOP
    # The recording was made without include_usage: no usage chunk, so no numbers, none invented.
    assert completion.usage.input_tokens is None
    assert completion.usage.output_tokens is None
    assert completion.usage.raw is None
    # The empty prompt-filter chunk ("model": "", "id": "") did not overwrite the real identifiers.
    assert completion.model_version == "gpt-4o-mini-2024-07-18"
    assert completion.response_id == "chatcmpl-CYEw5YzvO4CwmxizpZWRwtP0BugmV"
    assert completion.ttft_ms is not None
    assert completion.ttft_ms < completion.latency_ms


async def test_v1_stream_include_usage(
    server: ReplayServer, client: httpx.AsyncClient, azure_v1_credential: ProviderCredential
) -> None:
    server.enqueue(load("azure/chat_stream_v1_url_include_usage").reply())
    completion = await azure_openai.complete(client, azure_v1_credential, chat("gpt-5-mini"))
    assert server.requests[0].json()["stream_options"] == {"include_usage": True}
    assert completion.text == "4242"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (15, 12)
    assert completion.request_id == "4c07d8eb-a715-4f34-a640-51e0b5e7481d"


@pytest.mark.parametrize(
    ("name", "fixture"),
    [
        ("azure/error_400_content_filter", "azure_deployment_credential"),
        ("azure/error_400_content_filter_v1_url", "azure_v1_credential"),
    ],
)
async def test_400_content_filter_is_a_request_error(
    server: ReplayServer, client: httpx.AsyncClient, request: pytest.FixtureRequest, name: str, fixture: str
) -> None:
    credential: ProviderCredential = request.getfixturevalue(fixture)
    server.enqueue(load(name).reply())
    with pytest.raises(ProviderError) as caught:
        await azure_openai.complete(client, credential, chat(stream=False))
    error = caught.value
    assert error.kind is ErrorKind.REQUEST
    assert error.status == 400
    assert error.reason == "content_filter"
    assert "content management policy" in error.message
    assert error.request_id is not None  # apim-request-id: this 400 has no x-request-id
    assert not error.retryable


async def test_azure_429_with_retry_after_ms(
    server: ReplayServer, client: httpx.AsyncClient, azure_v1_credential: ProviderCredential
) -> None:
    from tests.providers.replay_server import Reply

    body = b'{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded..."}}'
    server.enqueue(
        Reply(
            status=429,
            headers=[("Content-Type", "application/json"), ("retry-after", "7"), ("retry-after-ms", "6500")],
            body=body,
        )
    )
    with pytest.raises(ProviderError) as caught:
        await azure_openai.complete(client, azure_v1_credential, chat(stream=False))
    assert caught.value.kind is ErrorKind.RATE_LIMIT
    assert caught.value.retry_after_s == 6.5


def test_endpoint_pasted_with_the_v1_suffix() -> None:
    credential = ProviderCredential(api_key=SecretStr(API_KEY), azure_endpoint="https://r.openai.azure.com/openai/v1/")
    assert azure_openai.chat_url(credential) == ("https://r.openai.azure.com/openai/v1/chat/completions", True)
