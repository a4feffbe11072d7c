"""Google Gemini adapter (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`).

The key goes in the `x-goog-api-key` header, never in the `?key=` query parameter Google also accepts,
so it cannot leak through logged URLs. Stream chunks each carry the cumulative `usageMetadata`: the
last chunk's wins (counts may even go down, e.g. promptTokenCount 15 -> 13). `candidatesTokenCount`
excludes thinking, so the normalized output is candidates + `thoughtsTokenCount`; `cachedContentTokenCount`
is part of `promptTokenCount`. Thought-summary parts (`"thought": true`) are not answer text.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from shared.providers.error_bodies import error_from_event, request_id_from_headers
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import (
    ChatRequest,
    Completion,
    FinishReason,
    JsonSchemaFormat,
    MonotonicClock,
    ProviderCredential,
    Usage,
)
from shared.providers.parsing import as_count, as_dict, as_list, as_str, loads_object
from shared.providers.sse import aiter_sse
from shared.providers.transport import join_url, post_json, read_json_object, required_secret

logger = logging.getLogger("tokenroute.providers")

PROVIDER = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
_VERSIONED_BASE = re.compile(r"/v\d+(?:alpha|beta)?\d*$")

_FINISH_REASONS = {
    "STOP": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "SAFETY": FinishReason.CONTENT_FILTER,
    "RECITATION": FinishReason.CONTENT_FILTER,
    "BLOCKLIST": FinishReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": FinishReason.CONTENT_FILTER,
    "SPII": FinishReason.CONTENT_FILTER,
    "IMAGE_SAFETY": FinishReason.CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": FinishReason.ERROR,
    "UNEXPECTED_TOOL_CALL": FinishReason.ERROR,
}

_STATUS_KINDS = {
    "UNAUTHENTICATED": ErrorKind.AUTH,
    "PERMISSION_DENIED": ErrorKind.AUTH,
    "RESOURCE_EXHAUSTED": ErrorKind.RATE_LIMIT,
    "UNAVAILABLE": ErrorKind.TRANSIENT,
    "INTERNAL": ErrorKind.TRANSIENT,
    "DEADLINE_EXCEEDED": ErrorKind.TRANSIENT,
}


def classify_gemini_error(status: int | None, error: Mapping[str, Any]) -> tuple[ErrorKind, str | None] | None:
    """Google answers a bad key with 400 INVALID_ARGUMENT + reason API_KEY_INVALID, not with 401."""
    del status
    reasons = [as_str(as_dict(detail).get("reason")) for detail in as_list(error.get("details"))]
    if "API_KEY_INVALID" in reasons:
        return ErrorKind.AUTH, "API_KEY_INVALID"
    status_name = as_str(error.get("status"))
    if status_name in _STATUS_KINDS:
        return _STATUS_KINDS[status_name], next((reason for reason in reasons if reason), status_name)
    return None


def usage_from_gemini(raw: Mapping[str, Any] | None) -> Usage:
    """Normalized usage from a `usageMetadata` object (see the module docstring)."""
    if raw is None:
        return Usage()
    candidates = as_count(raw.get("candidatesTokenCount"))
    thoughts = as_count(raw.get("thoughtsTokenCount"))
    output = None if candidates is None else candidates + (thoughts or 0)
    return Usage(
        input_tokens=as_count(raw.get("promptTokenCount")),
        output_tokens=output,
        cached_input_tokens=as_count(raw.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
        cache_write_tokens=None,
        raw=dict(raw),
    )


def build_body(request: ChatRequest) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The generateContent body (system messages go to `systemInstruction`), and unsupported names."""
    params = request.params
    system = "\n\n".join(message.content for message in request.messages if message.role == "system")
    body: dict[str, Any] = {
        "contents": [
            {"role": "model" if message.role == "assistant" else "user", "parts": [{"text": message.content}]}
            for message in request.messages
            if message.role != "system"
        ]
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    if params.temperature is not None:
        config["temperature"] = params.temperature
    if params.top_p is not None:
        config["topP"] = params.top_p
    if params.max_tokens is not None:
        config["maxOutputTokens"] = params.max_tokens
    if params.seed is not None:
        config["seed"] = params.seed
    if params.stop:
        config["stopSequences"] = list(params.stop)
    if params.response_format != "text":
        config["responseMimeType"] = "application/json"
    if isinstance(params.response_format, JsonSchemaFormat):
        config["responseJsonSchema"] = params.response_format.json_schema
    if config:
        body["generationConfig"] = config
    return body, ()


def _url(credential: ProviderCredential, model: str, *, stream: bool) -> str:
    base = (credential.base_url or DEFAULT_BASE_URL).rstrip("/")
    if not _VERSIONED_BASE.search(base):
        base = join_url(base, API_VERSION)
    name = quote(model.removeprefix("models/"), safe="")
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return join_url(base, f"models/{name}:{method}")


@dataclass
class _Reply:
    text: list[str] = field(default_factory=list)
    finish_raw: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    response_id: str | None = None
    prompt_blocked: bool = False

    def add(self, payload: Mapping[str, Any]) -> bool:
        """Take one response or stream chunk; True when it carried answer text."""
        self.model = as_str(payload.get("modelVersion")) or self.model
        self.response_id = self.response_id or as_str(payload.get("responseId"))
        usage = payload.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage  # cumulative: the latest replaces the earlier ones
        candidates = as_list(payload.get("candidates"))
        block_reason = as_str(as_dict(payload.get("promptFeedback")).get("blockReason"))
        if not candidates and block_reason:
            # The prompt itself was refused: no candidate, the reason is in promptFeedback.
            self.finish_raw, self.prompt_blocked = block_reason, True
        carried = False
        for candidate in candidates[:1]:
            candidate_obj = as_dict(candidate)
            for part in as_list(as_dict(candidate_obj.get("content")).get("parts")):
                part_obj = as_dict(part)
                text = part_obj.get("text")
                if isinstance(text, str) and text and not part_obj.get("thought"):
                    self.text.append(text)
                    carried = True
            self.finish_raw = as_str(candidate_obj.get("finishReason")) or self.finish_raw
        return carried


def _finish(reply: _Reply) -> FinishReason:
    if reply.prompt_blocked:
        return FinishReason.CONTENT_FILTER
    return _FINISH_REASONS.get(reply.finish_raw or "", FinishReason.OTHER)


async def complete(
    client: httpx.AsyncClient,
    credential: ProviderCredential,
    request: ChatRequest,
    *,
    clock: MonotonicClock = time.perf_counter,
) -> Completion:
    """One generateContent call to Gemini."""
    secret = required_secret(credential, provider=PROVIDER)
    body, unsupported = build_body(request)
    url = _url(credential, request.model, stream=request.stream)
    reply = _Reply()
    first_text_at: float | None = None
    started = clock()
    async with post_json(
        client,
        url,
        provider=PROVIDER,
        headers={"x-goog-api-key": secret},
        body=body,
        secret=secret,
        classify=classify_gemini_error,
    ) as response:
        request_id = request_id_from_headers(response.headers)
        if request.stream and "text/event-stream" in response.headers.get("content-type", ""):
            # No [DONE]: the stream ends at EOF after the chunk with finishReason.
            async for event in aiter_sse(response.aiter_bytes()):
                payload = loads_object(event.data)
                if payload is None:
                    continue
                if payload.get("error") is not None:
                    raise error_from_event(
                        provider=PROVIDER,
                        payload=payload,
                        secret=secret,
                        classify=classify_gemini_error,
                        request_id=request_id,
                    )
                if reply.add(payload) and first_text_at is None:
                    first_text_at = clock()
            if reply.finish_raw is None:
                raise ProviderError(
                    ErrorKind.TRANSIENT,
                    "the stream ended before the provider finished the answer",
                    provider=PROVIDER,
                    request_id=request_id,
                )
        else:
            reply.add(await read_json_object(response, provider=PROVIDER))
    ended = clock()
    completion = Completion(
        text="".join(reply.text),
        finish_reason=_finish(reply),
        finish_reason_raw=reply.finish_raw,
        usage=usage_from_gemini(reply.usage),
        latency_ms=(ended - started) * 1000,
        ttft_ms=None if first_text_at is None else (first_text_at - started) * 1000,
        # Gemini sends no request-id header; `responseId` identifies the response.
        request_id=request_id,
        response_id=reply.response_id,
        model_version=reply.model,
        unsupported_params=unsupported,
    )
    logger.debug(
        "%s call ok: model=%s response_id=%s latency_ms=%.1f",
        PROVIDER,
        completion.model_version,
        completion.response_id,
        completion.latency_ms,
    )
    return completion
