"""LLM provider adapters: one async `complete` per provider family over a shared `httpx.AsyncClient`.

Domain code only (no Azure Functions imports). Start at `registry.adapter_for(name)`; wrap calls in
`retries.call_with_retries` and `concurrency.AdaptiveLimiter`.
"""

from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import (
    ChatMessage,
    ChatRequest,
    Completion,
    FinishReason,
    GenerationParams,
    JsonSchemaFormat,
    ProviderCredential,
    Usage,
)

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "Completion",
    "ErrorKind",
    "FinishReason",
    "GenerationParams",
    "JsonSchemaFormat",
    "ProviderCredential",
    "ProviderError",
    "Usage",
]
