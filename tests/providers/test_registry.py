"""Provider names map to adapters and default base URLs."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.providers import anthropic_messages, azure_openai, gemini
from shared.providers.models import ProviderCredential
from shared.providers.registry import PROVIDER_NAMES, adapter_for, default_base_url
from tests.providers.builders import chat
from tests.providers.conftest import API_KEY
from tests.providers.recordings import load
from tests.providers.replay_server import ReplayServer

COMPAT = ["mistral", "groq", "together", "deepseek", "openrouter", "fireworks", "ollama", "vllm", "lmstudio"]


def test_every_named_provider_has_an_adapter() -> None:
    assert {"openai", "azure_openai", "anthropic", "gemini", "openai_compatible", *COMPAT} == PROVIDER_NAMES
    assert adapter_for("anthropic") is anthropic_messages.complete
    assert adapter_for("gemini") is gemini.complete
    assert adapter_for("azure_openai") is azure_openai.complete


def test_unknown_provider() -> None:
    with pytest.raises(KeyError, match="unknown provider 'sandbox'"):
        adapter_for("sandbox")


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("openai", "https://api.openai.com/v1"),
        ("mistral", "https://api.mistral.ai/v1"),
        ("groq", "https://api.groq.com/openai/v1"),
        ("together", "https://api.together.xyz/v1"),
        ("deepseek", "https://api.deepseek.com"),
        ("openrouter", "https://openrouter.ai/api/v1"),
        ("fireworks", "https://api.fireworks.ai/inference/v1"),
        ("ollama", "http://localhost:11434/v1"),
        ("vllm", "http://localhost:8000/v1"),
        ("lmstudio", "http://localhost:1234/v1"),
        ("anthropic", "https://api.anthropic.com"),
        ("gemini", "https://generativelanguage.googleapis.com"),
        ("azure_openai", None),
        ("openai_compatible", None),
    ],
)
def test_default_base_urls(name: str, url: str | None) -> None:
    assert default_base_url(name) == url


@pytest.mark.parametrize("name", ["openai", *COMPAT, "openai_compatible"])
async def test_openai_dialect_adapters_reach_chat_completions(
    server: ReplayServer, client: httpx.AsyncClient, name: str
) -> None:
    credential = ProviderCredential(api_key=SecretStr(API_KEY), base_url=server.url("/v1"))
    server.enqueue(load("openai/chat_stream_include_usage").reply(chunk_delay_s=0))
    completion = await adapter_for(name)(client, credential, chat("some-model"))
    assert server.requests[0].path == "/v1/chat/completions"
    assert completion.usage.input_tokens == 87
