"""OpenAI Chat Completions adapter; also serves every OpenAI-compatible endpoint through a CompatProfile.

Streaming asks for `stream_options.include_usage` where the profile allows it and reads usage from
whichever chunk carries it; time to first token is taken at the first chunk whose delta carries answer
text (role-only chunks, Azure's prompt-filter chunk, tool-call and reasoning deltas do not count).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.providers.compat import OPENAI, CompatProfile
from shared.providers.error_bodies import Classifier, error_from_event, request_id_from_headers
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
from shared.providers.parsing import as_count, as_dict, as_list, as_str, get_path, loads_object
from shared.providers.sse import aiter_sse
from shared.providers.transport import join_url, post_json, read_json_object, require_header_safe

logger = logging.getLogger("tokenroute.providers")

_FINISH_REASONS = {
    "stop": FinishReason.STOP,
    "eos": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "model_length": FinishReason.LENGTH,  # Mistral: the context window, not max_tokens, ran out
    "content_filter": FinishReason.CONTENT_FILTER,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "error": FinishReason.ERROR,
}


def classify_openai_error(status: int | None, error: Mapping[str, Any]) -> tuple[ErrorKind, str | None] | None:
    """OpenAI-family rules that the status alone gets wrong."""
    del status
    code = as_str(error.get("code"))
    kind = as_str(error.get("type"))
    # A 429 for an exhausted balance: waiting does not help, the credential needs attention.
    if "insufficient_quota" in (code, kind):
        return ErrorKind.AUTH, "insufficient_quota"
    # Azure refuses a prompt its content filter flagged with a 400: a request error, named as such.
    if code == "content_filter" or get_path(error, "innererror", "code") == "ResponsibleAIPolicyViolation":
        return ErrorKind.REQUEST, "content_filter"
    return None


def content_text(content: Any) -> str:
    """Answer text of a message or delta `content`: a string, or the `text` parts of a part list.

    Mistral's reasoning models stream `[{"type": "thinking", ...}]` parts; those are not answer text.
    """
    if isinstance(content, str):
        return content
    parts = []
    for part in as_list(content):
        part_obj = as_dict(part)
        text = part_obj.get("text")
        if part_obj.get("type") == "text" and isinstance(text, str):
            parts.append(text)
    return "".join(parts)


def usage_from_openai(raw: Mapping[str, Any] | None) -> Usage:
    """Usage from an OpenAI-style usage object (details optional, as compatible servers send them)."""
    if raw is None:
        return Usage()
    prompt_details = as_dict(raw.get("prompt_tokens_details"))
    completion_details = as_dict(raw.get("completion_tokens_details"))
    cached = as_count(prompt_details.get("cached_tokens"))
    if cached is None:
        cached = as_count(raw.get("prompt_cache_hit_tokens"))  # DeepSeek
    reasoning = as_count(completion_details.get("reasoning_tokens"))
    if reasoning is None:
        reasoning = as_count(raw.get("reasoning_tokens"))  # Together's stream
    return Usage(
        input_tokens=as_count(raw.get("prompt_tokens")),
        output_tokens=as_count(raw.get("completion_tokens")),
        cached_input_tokens=cached,
        reasoning_tokens=reasoning,
        cache_write_tokens=as_count(prompt_details.get("cache_write_tokens")),
        raw=dict(raw),
    )


def build_body(
    request: ChatRequest, profile: CompatProfile, *, include_model: bool = True
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The JSON body, and the names of the parameters this provider cannot take (left out, not faked)."""
    params = request.params
    body: dict[str, Any] = {}
    unsupported: list[str] = []
    if include_model:
        body["model"] = request.model
    body["messages"] = [{"role": message.role, "content": message.content} for message in request.messages]
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.max_tokens is not None:
        body[profile.max_tokens_field] = params.max_tokens
    if params.seed is not None:
        if profile.seed_field:
            body[profile.seed_field] = params.seed
        else:
            unsupported.append("seed")
    if params.stop:
        body["stop"] = list(params.stop)
    response_format = params.response_format
    if response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif isinstance(response_format, JsonSchemaFormat):
        if profile.supports_json_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": response_format.name,
                    "schema": response_format.json_schema,
                    "strict": response_format.strict,
                },
            }
        else:
            # JSON mode still forces JSON; the schema itself is what the provider cannot enforce.
            body["response_format"] = {"type": "json_object"}
            unsupported.append("response_format.json_schema")
    if request.stream:
        body["stream"] = True
        if profile.send_stream_options:
            body["stream_options"] = {"include_usage": True}
    return body, tuple(unsupported)


@dataclass
class _Reply:
    """What the response said so far; filled from one body or from many chunks."""

    text: list[str] = field(default_factory=list)
    finish_raw: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    response_id: str | None = None
    body_request_id: str | None = None
    done: bool = False

    def _identify(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        # Azure's first stream chunk has "model": "" and "id": "": as_str skips those.
        self.model = as_str(payload.get("model")) or self.model
        self.response_id = self.response_id or as_str(payload.get("id"))
        x_groq = as_dict(payload.get("x_groq"))
        self.body_request_id = self.body_request_id or as_str(x_groq.get("id"))
        usage = payload.get("usage")
        if not isinstance(usage, dict):
            usage = x_groq.get("usage")  # older Groq streams put usage only here
        if isinstance(usage, dict):
            self.usage = usage
        return x_groq

    def add_message(self, payload: Mapping[str, Any]) -> None:
        """Take a whole (non-streamed) message."""
        self._identify(payload)
        choice = _first_choice(payload)
        if choice is not None:
            self.text.append(content_text(as_dict(choice.get("message")).get("content")))
            self.finish_raw = as_str(choice.get("finish_reason"))
        self.done = True

    def add_chunk(self, payload: Mapping[str, Any]) -> bool:
        """Take one stream chunk; True when it carried answer text."""
        self._identify(payload)
        choice = _first_choice(payload)
        if choice is None:
            return False
        piece = content_text(as_dict(choice.get("delta")).get("content"))
        if piece:
            self.text.append(piece)
        self.finish_raw = as_str(choice.get("finish_reason")) or self.finish_raw
        return bool(piece)


def _first_choice(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    # We never ask for n > 1; choice 0 is the answer. `choices` is [] on usage and prompt-filter chunks.
    for choice in as_list(payload.get("choices")):
        choice_obj = as_dict(choice)
        if as_count(choice_obj.get("index")) in (0, None):
            return choice_obj
    return None


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


async def exchange(
    client: httpx.AsyncClient,
    *,
    provider: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    stream: bool,
    secret: str | None,
    clock: MonotonicClock,
    unsupported: tuple[str, ...],
    classify: Classifier = classify_openai_error,
) -> Completion:
    """Send one Chat Completions request and read the answer, streamed or not."""
    reply = _Reply()
    first_text_at: float | None = None
    started = clock()
    async with post_json(
        client, url, provider=provider, headers=headers, body=body, secret=secret, classify=classify
    ) as response:
        request_id = request_id_from_headers(response.headers)
        # A server that ignores `stream: true` answers with one JSON body; read it as such.
        if stream and _is_event_stream(response):
            async for event in aiter_sse(response.aiter_bytes()):
                # Read on to the end of the body after [DONE] (the server ends it right away): a
                # response left unread closes its connection instead of returning it to the pool.
                if reply.done:
                    continue
                if event.data.strip() == "[DONE]":
                    reply.done = True
                    continue
                chunk = loads_object(event.data)
                if chunk is None:
                    continue  # not JSON: nothing we could use (keep-alives are comments already)
                if event.event == "error" or chunk.get("error") is not None:
                    raise error_from_event(
                        provider=provider,
                        payload=chunk,
                        secret=secret,
                        classify=classify,
                        request_id=request_id or reply.body_request_id,
                    )
                if reply.add_chunk(chunk) and first_text_at is None:
                    first_text_at = clock()
            if not reply.done and reply.finish_raw is None:
                raise ProviderError(
                    ErrorKind.TRANSIENT,
                    "the stream ended before the provider finished the answer",
                    provider=provider,
                    request_id=request_id or reply.body_request_id,
                )
        else:
            reply.add_message(await read_json_object(response, provider=provider))
    ended = clock()
    completion = Completion(
        text="".join(reply.text),
        finish_reason=_FINISH_REASONS.get(reply.finish_raw or "", FinishReason.OTHER),
        finish_reason_raw=reply.finish_raw,
        usage=usage_from_openai(reply.usage),
        latency_ms=(ended - started) * 1000,
        ttft_ms=None if first_text_at is None else (first_text_at - started) * 1000,
        request_id=request_id or reply.body_request_id,
        response_id=reply.response_id,
        model_version=reply.model,
        unsupported_params=unsupported,
    )
    logger.debug(
        "%s call ok: model=%s request_id=%s latency_ms=%.1f",
        provider,
        completion.model_version,
        completion.request_id,
        completion.latency_ms,
    )
    return completion


async def complete(
    client: httpx.AsyncClient,
    credential: ProviderCredential,
    request: ChatRequest,
    *,
    clock: MonotonicClock = time.perf_counter,
    profile: CompatProfile = OPENAI,
) -> Completion:
    """One chat completion from OpenAI, or from the OpenAI-compatible provider `profile` describes."""
    base_url = credential.base_url or profile.default_base_url
    if not base_url:
        raise ProviderError(ErrorKind.REQUEST, "no base URL configured", provider=profile.name)
    secret = credential.secret()
    headers: dict[str, str] = {}
    if secret is not None:
        require_header_safe(secret, provider=profile.name)
        headers["Authorization"] = f"Bearer {secret}"
    elif profile.requires_api_key:
        raise ProviderError(ErrorKind.AUTH, "no API key configured", provider=profile.name)
    if credential.organization:
        headers["OpenAI-Organization"] = credential.organization
    body, unsupported = build_body(request, profile)
    return await exchange(
        client,
        provider=profile.name,
        url=join_url(base_url, "chat/completions"),
        headers=headers,
        body=body,
        stream=request.stream,
        secret=secret,
        clock=clock,
        unsupported=unsupported,
    )
