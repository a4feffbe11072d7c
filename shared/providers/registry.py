"""Provider name -> adapter. Every adapter has the same call shape (`CompleteFn`)."""

from __future__ import annotations

import time
from typing import Protocol

import httpx

from shared.providers import anthropic_messages, azure_openai, gemini, openai_chat, sandbox
from shared.providers.compat import COMPAT_PROFILES, OPENAI, CompatProfile
from shared.providers.models import ChatRequest, Completion, MonotonicClock, ProviderCredential


class CompleteFn(Protocol):
    """`complete(client, credential, request, *, clock)` of one provider."""

    async def __call__(
        self,
        client: httpx.AsyncClient,
        credential: ProviderCredential,
        request: ChatRequest,
        *,
        clock: MonotonicClock = ...,
    ) -> Completion: ...


def _openai_dialect(profile: CompatProfile) -> CompleteFn:
    async def complete(
        client: httpx.AsyncClient,
        credential: ProviderCredential,
        request: ChatRequest,
        *,
        clock: MonotonicClock = time.perf_counter,
    ) -> Completion:
        return await openai_chat.complete(client, credential, request, clock=clock, profile=profile)

    complete.__doc__ = f"One chat completion from {profile.name} (OpenAI Chat Completions dialect)."
    return complete


_ADAPTERS: dict[str, CompleteFn] = {
    "openai": _openai_dialect(OPENAI),
    "azure_openai": azure_openai.complete,
    "anthropic": anthropic_messages.complete,
    "gemini": gemini.complete,
    **{name: _openai_dialect(profile) for name, profile in COMPAT_PROFILES.items()},
}

PROVIDER_NAMES: frozenset[str] = frozenset(_ADAPTERS)

# Simulated providers are not HTTP adapters: no credential, no client, a different call
# (`sandbox.complete_sandbox`), so they are kept out of PROVIDER_NAMES and `adapter_for`.
SANDBOX = sandbox.PROVIDER
SIMULATED_PROVIDERS: frozenset[str] = frozenset({SANDBOX})
ALL_PROVIDER_NAMES: frozenset[str] = PROVIDER_NAMES | SIMULATED_PROVIDERS

_DEFAULT_BASE_URLS: dict[str, str | None] = {
    "openai": OPENAI.default_base_url,
    "azure_openai": None,  # each resource has its own endpoint
    "anthropic": anthropic_messages.DEFAULT_BASE_URL,
    "gemini": gemini.DEFAULT_BASE_URL,
    **{name: profile.default_base_url for name, profile in COMPAT_PROFILES.items()},
}


def adapter_for(provider_name: str) -> CompleteFn:
    """The adapter for a provider name; KeyError naming the known providers otherwise."""
    try:
        return _ADAPTERS[provider_name]
    except KeyError:
        known = ", ".join(sorted(_ADAPTERS))
        if is_simulated(provider_name):
            raise KeyError(
                f"unknown provider {provider_name!r} among the HTTP adapters: it is simulated, "
                "call shared.providers.sandbox.complete_sandbox"
            ) from None
        raise KeyError(f"unknown provider {provider_name!r}; known: {known}") from None


def is_simulated(provider_name: str) -> bool:
    """Whether the provider is simulated (no HTTP, no key): its results must be labeled as such."""
    return provider_name in SIMULATED_PROVIDERS


def default_base_url(provider_name: str) -> str | None:
    """The base URL used when a credential gives none (None: the credential must give one)."""
    adapter_for(provider_name)
    return _DEFAULT_BASE_URLS[provider_name]
