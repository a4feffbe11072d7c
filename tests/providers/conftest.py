"""Fixtures for the provider adapter tests: the replay server, an HTTP client, credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from shared.providers.models import ProviderCredential
from tests.providers.replay_server import ReplayServer

# A key no fixture or server message contains by accident: any sighting of it is a leak.
API_KEY = "sk-tokenroute-test-7f3e9c1d2b4a5e6f"


@pytest.fixture(scope="session")
def replay_server() -> Iterator[ReplayServer]:
    """One replay server for the session."""
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(replay_server: ReplayServer) -> Iterator[ReplayServer]:
    """The session's replay server, emptied for this test."""
    replay_server.reset()
    yield replay_server
    replay_server.reset()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client; per-phase timeouts generous so tests choose which limit fires."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as http:
        yield http


@pytest.fixture
def openai_credential(server: ReplayServer) -> ProviderCredential:
    """OpenAI (or any OpenAI-compatible provider) pointed at the replay server."""
    return ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.url("/v1"))


@pytest.fixture
def anthropic_credential(server: ReplayServer) -> ProviderCredential:
    """Anthropic pointed at the replay server (the adapter appends /v1/messages)."""
    return ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.base_url)


@pytest.fixture
def gemini_credential(server: ReplayServer) -> ProviderCredential:
    """Gemini pointed at the replay server (the adapter appends /v1beta/models/...)."""
    return ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.base_url)


@pytest.fixture
def azure_deployment_credential(server: ReplayServer) -> ProviderCredential:
    """Azure OpenAI, deployment URL form."""
    return ProviderCredential(
        api_key=SecretStr(API_KEY),
        azure_endpoint=server.base_url,
        azure_deployment="gpt-4o-mini",
        azure_api_version="2024-10-21",
    )


@pytest.fixture
def azure_v1_credential(server: ReplayServer) -> ProviderCredential:
    """Azure OpenAI, v1 URL form (no deployment: the model goes in the body)."""
    return ProviderCredential(api_key=SecretStr(API_KEY), azure_endpoint=server.base_url)
