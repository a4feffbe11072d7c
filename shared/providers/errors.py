"""Classified provider failures. A ProviderError never carries the API key: messages are redacted."""

from __future__ import annotations

from enum import StrEnum

REDACTED = "[REDACTED]"

# Longest provider message kept on an error: enough to act on, bounded for logs and tables.
MAX_MESSAGE_CHARS = 1000


class ErrorKind(StrEnum):
    """What the caller should do: stop (auth, request) or retry (rate_limit, transient, timeout)."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    REQUEST = "request"
    TIMEOUT = "timeout"


RETRYABLE_KINDS = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT, ErrorKind.TIMEOUT})


class ProviderError(Exception):
    """A failed provider call.

    `reason` is the provider's own code when it sent one (`invalid_api_key`, `content_filter`,
    `overloaded_error`, `API_KEY_INVALID`, ...). `retries` is set by `call_with_retries` to the number of
    retries made before giving up.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        reason: str | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
        retries: int = 0,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message[:MAX_MESSAGE_CHARS]
        self.provider = provider
        self.status = status
        self.reason = reason
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        self.retries = retries

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed."""
        return self.kind in RETRYABLE_KINDS

    def __str__(self) -> str:
        facts = [f"HTTP {self.status}" if self.status is not None else None, self.reason]
        if self.request_id:
            facts.append(f"request id {self.request_id}")
        if self.retry_after_s is not None:
            facts.append(f"retry after {self.retry_after_s:g}s")
        if self.retries:
            facts.append(f"after {self.retries} retries")
        detail = ", ".join(fact for fact in facts if fact)
        return f"{self.provider} {self.kind} error" + (f" ({detail})" if detail else "") + f": {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind.value!r}, provider={self.provider!r}, status={self.status!r}, "
            f"reason={self.reason!r}, request_id={self.request_id!r}, retry_after_s={self.retry_after_s!r}, "
            f"retries={self.retries!r}, message={self.message!r})"
        )


def kind_for_status(status: int) -> ErrorKind:
    """The default classification of an HTTP status; adapters refine it from the error body."""
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMIT
    # 408 and 409 are what OpenAI's and Anthropic's SDKs retry too; 5xx includes Anthropic's 529.
    if status in (408, 409) or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.REQUEST


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced: some servers echo the credential in errors."""
    if not secret:
        return text
    return text.replace(secret, REDACTED)
