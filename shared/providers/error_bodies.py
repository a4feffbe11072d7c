"""Turn a provider's error response (or a mid-stream error event) into a classified ProviderError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from shared.providers.errors import ErrorKind, ProviderError, kind_for_status, redact
from shared.providers.parsing import as_count, as_str, loads_object
from shared.providers.retry_after import retry_after_from_error, retry_after_from_headers

# Given the HTTP status (None for a mid-stream event without one) and the provider's error object,
# a provider-specific classification, or None to use the status-based default.
Classifier = Callable[[int | None, Mapping[str, Any]], tuple[ErrorKind, str | None] | None]

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "apim-request-id", "x-ms-request-id", "mistral-correlation-id")

# Body text kept when an error body is not JSON (an HTML page from a proxy, say).
_MAX_TEXT_CHARS = 300


def request_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """The provider's request id from the usual headers (OpenAI, Anthropic, Azure, Mistral)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in REQUEST_ID_HEADERS:
        value = lowered.get(name, "").strip()
        if value:
            return value
    return None


def error_object(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The error object inside a provider's body: `{"error": {...}}` for OpenAI, Anthropic and Google."""
    if payload is None:
        return {}
    inner = payload.get("error")
    if isinstance(inner, dict):
        return inner
    if isinstance(inner, str):
        return {"message": inner}
    return dict(payload)


def default_reason(error: Mapping[str, Any]) -> str | None:
    """The provider's most specific code: `code`, else `type`, else Google's `status`."""
    for key in ("code", "type", "status"):
        value = as_str(error.get(key))
        if value:
            return value
    return None


def _classify(classify: Classifier, status: int | None, error: Mapping[str, Any]) -> tuple[ErrorKind, str | None]:
    decided = classify(status, error)
    if decided is not None:
        return decided
    # A failure without a status arrived mid-stream after a 200: the provider broke off, so retry.
    kind = kind_for_status(status) if status is not None else ErrorKind.TRANSIENT
    return kind, default_reason(error)


def _body_request_id(payload: Mapping[str, Any] | None, error: Mapping[str, Any]) -> str | None:
    # Anthropic puts `request_id` beside `error`, not inside it.
    return as_str((payload or {}).get("request_id")) or as_str(error.get("request_id"))


def _message(error: Mapping[str, Any], text: str, status: int | None) -> str:
    for key in ("message", "detail", "error_description"):
        value = error.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    snippet = " ".join(text.split())[:_MAX_TEXT_CHARS]
    if snippet:
        return snippet
    return f"HTTP {status} without an error message" if status is not None else "error without a message"


def error_from_response(
    *,
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    classify: Classifier,
    now: datetime | None = None,
) -> ProviderError:
    """A ProviderError for a non-2xx response, with the wait the provider asked for."""
    text = body.decode("utf-8", errors="replace")
    payload = loads_object(body)
    error = error_object(payload)
    kind, reason = _classify(classify, status, error)
    retry_after = retry_after_from_headers(headers, now=now or datetime.now(UTC))
    if retry_after is None:
        retry_after = retry_after_from_error(error)
    return ProviderError(
        kind,
        redact(_message(error, text, status), secret),
        provider=provider,
        status=status,
        reason=reason,
        request_id=request_id_from_headers(headers) or _body_request_id(payload, error),
        retry_after_s=retry_after,
    )


def error_from_event(
    *,
    provider: str,
    payload: Mapping[str, Any],
    secret: str | None,
    classify: Classifier,
    request_id: str | None,
) -> ProviderError:
    """A ProviderError for an error event inside a 200 stream (Anthropic `event: error`, Groq, Gemini)."""
    error = error_object(payload)
    # Groq puts the would-be status in `status_code`; Google in `code`.
    status = as_count(error.get("status_code")) or as_count(error.get("code"))
    kind, reason = _classify(classify, status, error)
    return ProviderError(
        kind,
        redact(_message(error, "", status), secret),
        provider=provider,
        status=status,
        reason=reason,
        request_id=request_id or _body_request_id(payload, error),
        retry_after_s=retry_after_from_error(error),
    )


def default_classifier(status: int | None, error: Mapping[str, Any]) -> tuple[ErrorKind, str | None] | None:
    """No provider-specific rule: classify by status."""
    del status, error
    return None


def error_type(error: Mapping[str, Any]) -> str | None:
    """`error.type` as a string (Anthropic, OpenAI)."""
    return as_str(error.get("type"))
