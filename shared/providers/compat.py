"""Profiles of the OpenAI Chat Completions dialects: default base URLs and per-provider request quirks.

The response side needs no profile: the parser reads usage wherever any of them puts it (a separate
`choices: []` chunk, the finish chunk, Groq's `x_groq.usage`), DeepSeek's `prompt_cache_hit_tokens`,
and ignores reasoning text (`reasoning`, `reasoning_content`, Mistral's `thinking` parts). Only the
request side differs, and only where a provider rejects or renames something.

Flags for providers without a recorded fixture (DeepSeek, OpenRouter, Fireworks, vLLM, LM Studio) follow
their public documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class CompatProfile:
    """How one OpenAI-compatible provider wants its request built."""

    name: str
    default_base_url: str | None
    # OpenAI's reasoning models reject `max_tokens`; most compatible servers only know `max_tokens`.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Mistral calls the seed `random_seed`.
    seed_field: str | None = "seed"
    # Ask for the usage chunk; off where usage always comes anyway and the server rejects unknown fields.
    send_stream_options: bool = True
    supports_json_schema: bool = True
    # Local servers (Ollama, vLLM, LM Studio) usually run without a key.
    requires_api_key: bool = True


OPENAI = CompatProfile("openai", "https://api.openai.com/v1", max_tokens_field="max_completion_tokens")
# Azure's URLs and header are built in azure_openai.py; the body is OpenAI's.
AZURE_OPENAI = CompatProfile("azure_openai", None, max_tokens_field="max_completion_tokens")

MISTRAL = CompatProfile(
    "mistral",
    "https://api.mistral.ai/v1",
    seed_field="random_seed",
    # Mistral validates strictly and sends usage on the finish chunk unasked.
    send_stream_options=False,
)
GROQ = CompatProfile(
    "groq",
    "https://api.groq.com/openai/v1",
    max_tokens_field="max_completion_tokens",
    # Usage arrives on the finish chunk (x_groq.usage) unasked.
    send_stream_options=False,
)
TOGETHER = CompatProfile("together", "https://api.together.xyz/v1", send_stream_options=False)
# DeepSeek documents no seed and only the json_object response format.
DEEPSEEK = CompatProfile("deepseek", "https://api.deepseek.com", seed_field=None, supports_json_schema=False)
OPENROUTER = CompatProfile("openrouter", "https://openrouter.ai/api/v1")
FIREWORKS = CompatProfile("fireworks", "https://api.fireworks.ai/inference/v1")
OLLAMA = CompatProfile("ollama", "http://localhost:11434/v1", requires_api_key=False)
VLLM = CompatProfile("vllm", "http://localhost:8000/v1", requires_api_key=False)
LMSTUDIO = CompatProfile("lmstudio", "http://localhost:1234/v1", requires_api_key=False)
# Any other OpenAI-compatible server: the credential must give the base URL.
GENERIC = CompatProfile("openai_compatible", None, requires_api_key=False)

COMPAT_PROFILES: dict[str, CompatProfile] = {
    profile.name: profile
    for profile in (MISTRAL, GROQ, TOGETHER, DEEPSEEK, OPENROUTER, FIREWORKS, OLLAMA, VLLM, LMSTUDIO, GENERIC)
}
