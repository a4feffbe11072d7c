"""Anthropic Messages adapter (`POST {base}/v1/messages`, `x-api-key` and `anthropic-version` headers).

Usage: `message_start` carries input and cache counts with a placeholder output count;
`message_delta` carries the final, cumulative output count and, on newer streams, input and cache
counts that may differ from the start: fields present in `message_delta` replace those of
`message_start`. Anthropic's `input_tokens` excludes cached tokens, so the normalized input is
`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.providers.error_bodies import error_from_event, error_type, request_id_from_headers
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import ChatRequest, Completion, FinishReason, MonotonicClock, ProviderCredential, Usage
from shared.providers.parsing import as_count, as_dict, as_list, as_str, loads_object
from shared.providers.sse import aiter_sse
from shared.providers.transport import join_url, post_json, read_json_object, required_secret

logger = logging.getLogger("tokenroute.providers")

PROVIDER = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# The API requires max_tokens; this is what we send when the request leaves it open.
DEFAULT_MAX_TOKENS = 4096

_FINISH_REASONS = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}

_ERROR_KINDS = {
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "billing_error": ErrorKind.AUTH,
    "rate_limit_error": ErrorKind.RATE_LIMIT,
    "overloaded_error": ErrorKind.TRANSIENT,  # HTTP 529
    "api_error": ErrorKind.TRANSIENT,
    "timeout_error": ErrorKind.TRANSIENT,
    "invalid_request_error": ErrorKind.REQUEST,
    "not_found_error": ErrorKind.REQUEST,
    "request_too_large": ErrorKind.REQUEST,
}


def classify_anthropic_error(status: int | None, error: Mapping[str, Any]) -> tuple[ErrorKind, str | None] | None:
    """Anthropic names the failure in `error.type`, also inside `event: error` where no status exists."""
    del status
    kind_name = error_type(error)
    if kind_name in _ERROR_KINDS:
        return _ERROR_KINDS[kind_name], kind_name
    return None


def usage_from_anthropic(raw: Mapping[str, Any] | None) -> Usage:
    """Normalized usage from an Anthropic usage object (see the module docstring)."""
    if raw is None:
        return Usage()
    uncached = as_count(raw.get("input_tokens"))
    cache_write = as_count(raw.get("cache_creation_input_tokens"))
    cache_read = as_count(raw.get("cache_read_input_tokens"))
    total_input = None if uncached is None else uncached + (cache_write or 0) + (cache_read or 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=as_count(raw.get("output_tokens")),
        cached_input_tokens=cache_read,
        # Anthropic does not report thinking tokens separately; they are inside output_tokens.
        reasoning_tokens=None,
        cache_write_tokens=cache_write,
        raw=dict(raw),
    )


def build_body(request: ChatRequest) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The Messages body (system messages go to the top-level `system`), and unsupported parameter names."""
    params = request.params
    system = "\n\n".join(message.content for message in request.messages if message.role == "system")
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [
            {"role": message.role, "content": message.content}
            for message in request.messages
            if message.role != "system"
        ],
    }
    unsupported: list[str] = []
    if system:
        body["system"] = system
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop_sequences"] = list(params.stop)
    if params.seed is not None:
        unsupported.append("seed")
    if params.response_format != "text":
        unsupported.append("response_format")
    if request.stream:
        body["stream"] = True
    return body, tuple(unsupported)


@dataclass
class _Reply:
    text: list[str] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    message_id: str | None = None
    stopped: bool = False

    def add_message(self, message: Mapping[str, Any]) -> None:
        """Take a whole (non-streamed) message."""
        self.model = as_str(message.get("model")) or self.model
        self.message_id = self.message_id or as_str(message.get("id"))
        self.stop_reason = as_str(message.get("stop_reason")) or self.stop_reason
        for block in as_list(message.get("content")):
            block_obj = as_dict(block)
            text = block_obj.get("text")
            if block_obj.get("type") == "text" and isinstance(text, str):
                self.text.append(text)
        self._merge_usage(message.get("usage"))

    def _merge_usage(self, usage: Any) -> None:
        for key, value in as_dict(usage).items():
            if value is not None:
                self.usage[key] = value

    def add_event(self, payload: Mapping[str, Any]) -> bool:
        """Take one stream event; True when it carried answer text."""
        kind = payload.get("type")
        if kind == "message_start":
            self.add_message(as_dict(payload.get("message")))
        elif kind == "content_block_delta":
            delta = as_dict(payload.get("delta"))
            text = delta.get("text")
            if delta.get("type") == "text_delta" and isinstance(text, str) and text:
                self.text.append(text)
                return True
        elif kind == "message_delta":
            self.stop_reason = as_str(as_dict(payload.get("delta")).get("stop_reason")) or self.stop_reason
            self._merge_usage(payload.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        # ping, content_block_start/stop and unknown types (compaction, thinking) carry no answer text.
        return False


async def complete(
    client: httpx.AsyncClient,
    credential: ProviderCredential,
    request: ChatRequest,
    *,
    clock: MonotonicClock = time.perf_counter,
) -> Completion:
    """One message from Anthropic."""
    secret = required_secret(credential, provider=PROVIDER)
    body, unsupported = build_body(request)
    url = join_url(credential.base_url or DEFAULT_BASE_URL, "v1/messages")
    headers = {"x-api-key": secret, "anthropic-version": API_VERSION}
    reply = _Reply()
    first_text_at: float | None = None
    started = clock()
    async with post_json(
        client,
        url,
        provider=PROVIDER,
        headers=headers,
        body=body,
        secret=secret,
        classify=classify_anthropic_error,
    ) as response:
        request_id = request_id_from_headers(response.headers)
        if request.stream and "text/event-stream" in response.headers.get("content-type", ""):
            async for event in aiter_sse(response.aiter_bytes()):
                # After message_stop, read on to the end of the body (it ends right away): an unread
                # response closes its connection instead of returning it to the pool.
                if reply.stopped:
                    continue
                payload = loads_object(event.data)
                if payload is None:
                    continue
                if event.event == "error" or payload.get("type") == "error":
                    raise error_from_event(
                        provider=PROVIDER,
                        payload=payload,
                        secret=secret,
                        classify=classify_anthropic_error,
                        request_id=request_id,
                    )
                if reply.add_event(payload) and first_text_at is None:
                    first_text_at = clock()
            if not reply.stopped and reply.stop_reason is None:
                raise ProviderError(
                    ErrorKind.TRANSIENT,
                    "the stream ended before the provider finished the answer",
                    provider=PROVIDER,
                    request_id=request_id,
                )
        else:
            reply.add_message(await read_json_object(response, provider=PROVIDER))
    ended = clock()
    completion = Completion(
        text="".join(reply.text),
        finish_reason=_FINISH_REASONS.get(reply.stop_reason or "", FinishReason.OTHER),
        finish_reason_raw=reply.stop_reason,
        usage=usage_from_anthropic(reply.usage or None),
        latency_ms=(ended - started) * 1000,
        ttft_ms=None if first_text_at is None else (first_text_at - started) * 1000,
        request_id=request_id,
        response_id=reply.message_id,
        model_version=reply.model,
        unsupported_params=unsupported,
    )
    logger.debug(
        "%s call ok: model=%s request_id=%s latency_ms=%.1f",
        PROVIDER,
        completion.model_version,
        completion.request_id,
        completion.latency_ms,
    )
    return completion
