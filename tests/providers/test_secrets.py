"""The API key travels only in the auth header: never in URLs, bodies, errors, reprs, tracebacks or logs."""

from __future__ import annotations

import json
import logging
import socket
import traceback

import httpx
import pytest
from pydantic import SecretStr

from shared.providers.errors import ProviderError
from shared.providers.models import ProviderCredential
from shared.providers.registry import adapter_for
from shared.providers.retries import call_with_retries
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import load
from tests.providers.replay_server import RecordedRequest, ReplayServer, Reply

AUTH_HEADER = {
    "openai": "authorization",
    "azure_openai": "api-key",
    "anthropic": "x-api-key",
    "gemini": "x-goog-api-key",
}
CREDENTIAL_FIXTURE = {
    "openai": "openai_credential",
    "azure_openai": "azure_deployment_credential",
    "anthropic": "anthropic_credential",
    "gemini": "gemini_credential",
}
RECORDED_401 = {
    "openai": "openai/error_401_invalid_api_key",
    "azure_openai": "openai/error_401_invalid_api_key",
    "anthropic": "anthropic/error_401_authentication_error",
    "gemini": "gemini/error_400_api_key_invalid",
}
RECORDED_429 = {
    "openai": "openai/error_429_rate_limit_exceeded_tpm",
    "azure_openai": "openai/error_429_rate_limit_exceeded_legacy",
    "anthropic": "anthropic/error_429_rate_limit_error",
    "gemini": "gemini/error_429_resource_exhausted",
}
MID_STREAM_ERROR = {
    "openai": b'data: {"error":{"message":"server error","type":"server_error"}}\n\n',
    "azure_openai": b'data: {"error":{"message":"server error","type":"server_error"}}\n\n',
    "anthropic": load("anthropic/docs_example_stream_error_event").body,
    "gemini": b'data: {"error":{"code":500,"message":"internal","status":"INTERNAL"}}\r\n\r\n',
}


def echo_every_header(request: RecordedRequest) -> bytes:
    # A hostile or careless server that repeats our request headers in its error message.
    return json.dumps({"error": {"message": f"rejected headers: {request.headers}", "type": "server_error"}}).encode()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def reply_for(mode: str, provider: str) -> Reply | None:
    json_type = [("Content-Type", "application/json")]
    if mode == "401":
        return load(RECORDED_401[provider]).reply()
    if mode == "429":
        return load(RECORDED_429[provider]).reply()
    if mode == "500-echoing-the-key":
        return Reply(status=500, headers=json_type, body_from_request=echo_every_header)
    if mode == "hang":
        return Reply(hang=True)
    if mode == "mid-stream-error":
        return Reply(headers=[("Content-Type", "text/event-stream")], chunks=[MID_STREAM_ERROR[provider]])
    return None  # refused / bad-key-characters: no server involved


def assert_key_absent(error: ProviderError, logs: str) -> None:
    rendered = [
        str(error),
        repr(error),
        error.message,
        "".join(traceback.format_exception(error)),
        logs,
    ]
    for text in rendered:
        assert API_KEY not in text
    # No chained exception drags httpx's request (and its headers) along.
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("provider", sorted(AUTH_HEADER))
@pytest.mark.parametrize(
    "mode", ["401", "429", "500-echoing-the-key", "hang", "mid-stream-error", "refused", "bad-key-characters"]
)
async def test_key_never_leaks_when_a_call_fails(
    server: ReplayServer,
    client: httpx.AsyncClient,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    mode: str,
) -> None:
    credential: ProviderCredential = request.getfixturevalue(CREDENTIAL_FIXTURE[provider])
    if mode == "refused":
        dead = f"http://127.0.0.1:{closed_port()}"
        credential = credential.model_copy(
            update={"base_url": dead + ("/v1" if provider == "openai" else ""), "azure_endpoint": dead}
        )
    if mode == "bad-key-characters":
        credential = credential.model_copy(update={"api_key": SecretStr(API_KEY + "\r\nX-Injected: 1")})
    reply = reply_for(mode, provider)
    if reply is not None:
        server.enqueue(reply)
    complete = adapter_for(provider)
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included

    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            lambda: complete(client, credential, chat("some-model", stream=mode == "mid-stream-error")),
            budget_s=0.5 if mode == "hang" else 5,
            max_retries=0,
        )
    assert_key_absent(caught.value, caplog.text)
    for sent in server.requests:
        assert API_KEY not in sent.target
        assert API_KEY not in sent.body.decode()


@pytest.mark.parametrize("provider", sorted(AUTH_HEADER))
async def test_key_is_sent_only_in_the_auth_header(
    server: ReplayServer, client: httpx.AsyncClient, request: pytest.FixtureRequest, provider: str
) -> None:
    credential: ProviderCredential = request.getfixturevalue(CREDENTIAL_FIXTURE[provider])
    server.enqueue(Reply(status=500, headers=[("Content-Type", "application/json")], body=b"{}"))
    with pytest.raises(ProviderError):
        await adapter_for(provider)(client, credential, chat("some-model", stream=False))
    sent = server.requests[0]
    carrying = {name for name, value in sent.headers.items() if API_KEY in value}
    assert carrying == {AUTH_HEADER[provider]}
    assert API_KEY not in sent.target
    assert API_KEY not in sent.body.decode()


def test_credential_reprs_mask_the_key() -> None:
    credential = ProviderCredential(api_key=SecretStr(API_KEY), base_url="https://api.openai.com/v1")
    for text in (str(credential), repr(credential), credential.model_dump_json(), str(credential.model_dump())):
        assert API_KEY not in text
    assert credential.secret() == API_KEY
