"""Provider-neutral request and result types shared by every adapter.

Token counting convention (the same for every provider, so prices apply uniformly):
`input_tokens` counts every prompt token the provider processed, cached reads and cache writes
included; `cached_input_tokens` and `cache_write_tokens` are parts of it. `output_tokens` counts every
generated token, reasoning included; `reasoning_tokens` is a part of it. Each number is the provider's
own count (or a sum of the provider's own fields, e.g. Anthropic's `input_tokens +
cache_creation_input_tokens + cache_read_input_tokens`); a number the provider did not report is None,
never estimated. `Usage.raw` keeps the provider's usage object as received for audit.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Role = Literal["system", "user", "assistant"]

# Seconds from an arbitrary origin (time.perf_counter, time.monotonic): durations only, never wall time
# (that is shared.clock.Clock).
MonotonicClock = Callable[[], float]


class ChatMessage(BaseModel):
    """One message of the conversation sent to the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


class JsonSchemaFormat(BaseModel):
    """Structured output: the answer must validate against `json_schema`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    json_schema: dict[str, Any]
    strict: bool = True


ResponseFormat = Literal["text", "json_object"] | JsonSchemaFormat


class GenerationParams(BaseModel):
    """Sampling parameters; None means "provider default". Unsupported ones are reported on the Completion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    response_format: ResponseFormat = "text"


class ChatRequest(BaseModel):
    """One chat call. `stream=True` is what measures time to first token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    messages: tuple[ChatMessage, ...] = Field(min_length=1)
    params: GenerationParams = Field(default_factory=GenerationParams)
    stream: bool = True


class FinishReason(StrEnum):
    """Why generation stopped, normalized across providers (the provider's own value is kept as `raw`)."""

    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    TOOL_CALLS = "tool_calls"
    ERROR = "error"
    OTHER = "other"


class Usage(BaseModel):
    """Token counts as the provider reported them (see the module docstring for the convention)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_write_tokens: int | None = None
    raw: dict[str, Any] | None = None


class Completion(BaseModel):
    """The result of one successful call, with its timing and the provider's identifiers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    finish_reason: FinishReason
    finish_reason_raw: str | None
    usage: Usage
    latency_ms: float
    ttft_ms: float | None
    request_id: str | None
    response_id: str | None
    model_version: str | None
    retries: int = 0
    unsupported_params: tuple[str, ...] = ()


class ProviderCredential(BaseModel):
    """What an adapter needs to reach a tenant's provider account. The key is a SecretStr: reprs mask it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    base_url: str | None = None
    organization: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    azure_api_version: str | None = None

    def secret(self) -> str | None:
        """The raw key for the auth header only; None when no key is configured."""
        if self.api_key is None:
            return None
        return self.api_key.get_secret_value() or None
