"""The validation call of each provider, against a stand-in that speaks its wire format, and how answers are judged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.credentials.records import ValidationState
from shared.credentials.validation import MAX_REASON_CHARS, probe
from shared.devhost.azurite import free_ports
from shared.providers.client import new_http_client
from shared.providers.models import ProviderCredential
from tests.credentials.provider_standin import ProviderStandIn

GOOD = "sk-good-0123456789abcdef"
BAD = "sk-bad-9876543210fedcba"


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with ProviderStandIn({GOOD}) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The SSRF-guarded client, with private endpoints allowed (the stand-in is on 127.0.0.1)."""
    async with new_http_client(allow_private=True) as http:
        yield http


def credential(key: str, **fields: str) -> ProviderCredential:
    return ProviderCredential(api_key=key, **fields)


async def test_openai_lists_models_with_a_bearer_key_and_the_organization(
    client: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    good = credential(GOOD, base_url=standin.url("/v1"), organization="org-abc")
    assert (await probe(client, "openai", good)).state is ValidationState.VALID
    seen = standin.seen[-1]
    assert (seen.path, seen.headers["authorization"], seen.headers["openai-organization"]) == (
        "/v1/models",
        f"Bearer {GOOD}",
        "org-abc",
    )

    outcome = await probe(client, "openai", credential(BAD, base_url=standin.url("/v1")))
    assert outcome.state is ValidationState.INVALID
    assert outcome.reason is not None
    assert outcome.reason.startswith("HTTP 401 invalid_api_key: Incorrect API key provided")


async def test_compatible_servers_use_the_openai_call(client: httpx.AsyncClient, standin: ProviderStandIn) -> None:
    for provider in ("vllm", "ollama", "openai_compatible", "groq"):
        assert (await probe(client, provider, credential(GOOD, base_url=standin.url("/v1")))).state is (
            ValidationState.VALID
        )
        assert standin.seen[-1].path == "/v1/models"


async def test_anthropic_uses_x_api_key_and_the_version_header(
    client: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    assert (await probe(client, "anthropic", credential(GOOD, base_url=standin.url()))).state is ValidationState.VALID
    seen = standin.seen[-1]
    assert (seen.path, seen.headers["x-api-key"], seen.headers["anthropic-version"]) == (
        "/v1/models",
        GOOD,
        "2023-06-01",
    )
    assert "authorization" not in seen.headers
    outcome = await probe(client, "anthropic", credential(BAD, base_url=standin.url()))
    assert (outcome.state, outcome.reason) == (
        ValidationState.INVALID,
        "HTTP 401 authentication_error: invalid x-api-key",
    )


async def test_gemini_sends_the_key_in_a_header_and_a_400_bad_key_is_invalid(
    client: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    assert (await probe(client, "gemini", credential(GOOD, base_url=standin.url()))).state is ValidationState.VALID
    seen = standin.seen[-1]
    assert (seen.path, seen.headers["x-goog-api-key"]) == ("/v1beta/models", GOOD)
    assert "key" not in seen.query  # never in the URL
    # A base URL that already names the version is used as it is.
    assert (await probe(client, "gemini", credential(GOOD, base_url=standin.url("/v1beta")))).state is (
        ValidationState.VALID
    )
    outcome = await probe(client, "gemini", credential(BAD, base_url=standin.url()))
    assert (outcome.state, outcome.reason) == (
        ValidationState.INVALID,
        "HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key.",
    )


async def test_azure_deployment_and_v1_forms(client: httpx.AsyncClient, standin: ProviderStandIn) -> None:
    deployment = credential(
        GOOD, azure_endpoint=standin.url(), azure_deployment="gpt-4o-mini", azure_api_version="2024-10-21"
    )
    assert (await probe(client, "azure_openai", deployment)).state is ValidationState.VALID
    seen = standin.seen[-1]
    assert (seen.path, seen.query, seen.headers["api-key"]) == ("/openai/models", {"api-version": ["2024-10-21"]}, GOOD)

    v1 = credential(GOOD, azure_endpoint=standin.url("/openai/v1"))  # pasted from the portal: accepted
    assert (await probe(client, "azure_openai", v1)).state is ValidationState.VALID
    assert standin.seen[-1].path == "/openai/v1/models"

    outcome = await probe(client, "azure_openai", credential(BAD, azure_endpoint=standin.url()))
    assert outcome.state is ValidationState.INVALID
    assert outcome.reason is not None
    assert outcome.reason.startswith("HTTP 401: Access denied due to invalid subscription key")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (503, ValidationState.UNREACHABLE),
        (500, ValidationState.UNREACHABLE),
        (429, ValidationState.UNREACHABLE),
        (403, ValidationState.INVALID),
        (404, ValidationState.INVALID),
    ],
)
async def test_statuses_map_to_states_with_the_providers_message(
    client: httpx.AsyncClient, standin: ProviderStandIn, status: int, state: ValidationState
) -> None:
    standin.behaviour.status = status
    standin.behaviour.body = {"error": {"message": "provider says no", "type": "some_error"}}
    outcome = await probe(client, "openai", credential(GOOD, base_url=standin.url("/v1")))
    assert (outcome.state, outcome.reason) == (state, f"HTTP {status} some_error: provider says no")


async def test_a_key_echoed_by_the_provider_is_replaced_and_long_reasons_are_cut(
    client: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.behaviour.echo_key = True
    outcome = await probe(client, "openai", credential(BAD, base_url=standin.url("/v1")))
    assert outcome.reason is not None
    assert BAD not in outcome.reason
    assert "[REDACTED]" in outcome.reason

    standin.behaviour.echo_key = False
    standin.behaviour.status = 401
    standin.behaviour.body = {"error": {"message": "x" * 5000 + "\n\x1b[31m"}}
    outcome = await probe(client, "openai", credential(BAD, base_url=standin.url("/v1")))
    assert outcome.reason is not None
    assert len(outcome.reason) == MAX_REASON_CHARS
    assert outcome.reason.endswith("…")


async def test_a_2xx_that_is_not_json_is_not_an_api(client: httpx.AsyncClient) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text="<html>", headers={"content-type": "text/html"}))
    async with httpx.AsyncClient(transport=transport) as html:
        outcome = await probe(html, "openai", credential(GOOD, base_url="https://example.com/v1"))
    assert outcome.state is ValidationState.INVALID
    assert outcome.reason is not None
    assert "not JSON" in outcome.reason


async def test_a_closed_port_a_hung_server_and_an_ssrf_refusal_are_unreachable(
    client: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    closed = credential(GOOD, base_url=f"http://127.0.0.1:{free_ports(1)[0]}/v1")
    outcome = await probe(client, "openai", closed)
    assert outcome.state is ValidationState.UNREACHABLE
    assert outcome.reason is not None
    assert outcome.reason.startswith("could not connect (ConnectError")

    standin.behaviour.delay_s = 2.0
    outcome = await probe(client, "openai", credential(GOOD, base_url=standin.url("/v1")), budget_s=0.3)
    assert (outcome.state, outcome.reason) == (ValidationState.UNREACHABLE, "no answer within 0.3 s")
    standin.behaviour.delay_s = 0.0

    received = len(standin.seen)
    async with new_http_client(allow_private=False) as guarded:
        for url in (standin.url("/v1"), "https://127.0.0.1/v1", "https://169.254.169.254/v1"):
            outcome = await probe(guarded, "openai", credential(GOOD, base_url=url))
            assert outcome.state is ValidationState.UNREACHABLE, url
            assert outcome.reason is not None
            assert outcome.reason.startswith("refused by the egress policy"), outcome.reason
    assert len(standin.seen) == received  # refused before any connection


async def test_missing_urls_are_invalid_without_a_call(client: httpx.AsyncClient) -> None:
    outcome = await probe(client, "openai_compatible", credential(GOOD))
    assert (outcome.state, outcome.reason) == (ValidationState.INVALID, "no base URL configured")
    outcome = await probe(client, "azure_openai", credential(GOOD))
    assert (outcome.state, outcome.reason) == (ValidationState.INVALID, "no Azure endpoint configured")
