"""A local OpenAI-compatible server for tests and benchmarks: the real Chat Completions wire format.

It answers `POST /v1/chat/completions` streamed (SSE chunks, usage in the final chunk when
`stream_options.include_usage` is set) or not, after a fixed latency, and counts the requests it
received per prompt so tests can prove an item was never billed twice. Behaviour can be changed
while it runs (fail some prompts, answer 429 for a while, report large usage). Never deployed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from shared.devhost.azurite import free_ports


@dataclass
class Behaviour:
    """What the stand-in does; tests change it between requests."""

    latency_s: float = 0.0
    answer: str = "A"
    output_tokens: int = 8
    fail_prompts: set[str] = field(default_factory=set)  # prompts containing one of these answer 500
    rate_limit_first: int = 0  # the first N requests answer 429 (retry-after-ms: 20)
    model_version: str = "gpt-4o-mini-2024-07-18"


class OpenAIStandIn:
    """Serve the stand-in on 127.0.0.1 in a background thread: `with OpenAIStandIn() as s: s.base_url`."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.port = free_ports(1)[0]
        self.calls: Counter[str] = Counter()
        self.total = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_call_at: float | None = None  # time.perf_counter() of the first and last call
        self.last_answer_at: float | None = None
        self._lock = threading.Lock()
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        """The base URL to give a credential (`.../v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStandIn:
        """Start serving and wait until it listens."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the OpenAI stand-in did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> OpenAIStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_timing(self) -> None:
        """Forget the first and last call times and the peak in flight (a benchmark's warm-up ran)."""
        with self._lock:
            self.first_call_at = self.last_answer_at = None
            self.max_in_flight = 0

    def count_for(self, fragment: str) -> int:
        """How many requests had a user message containing `fragment`."""
        with self._lock:
            return sum(n for prompt, n in self.calls.items() if fragment in prompt)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET" and scope["path"].endswith("/models"):
            await _json(send, 200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
            return
        if scope["method"] != "POST" or not scope["path"].endswith("/chat/completions"):
            await _json(send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        request = json.loads(body)
        prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []) if m.get("role") == "user")
        with self._lock:
            if self.first_call_at is None:
                self.first_call_at = time.perf_counter()
            self.calls[prompt] += 1
            self.total += 1
            number = self.total
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._answer(send, request, prompt, number)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.last_answer_at = time.perf_counter()

    async def _answer(self, send: Send, request: dict[str, Any], prompt: str, number: int) -> None:
        b = self.behaviour
        await asyncio.sleep(b.latency_s)
        if number <= b.rate_limit_first:
            error = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
            await _json(send, 429, error, {"retry-after-ms": "20"})
            return
        if any(fragment in prompt for fragment in b.fail_prompts):
            await _json(send, 500, {"error": {"message": "The server had an error", "type": "server_error"}})
            return
        usage = {
            "prompt_tokens": max(1, len(prompt) // 4),
            "completion_tokens": b.output_tokens,
            "total_tokens": max(1, len(prompt) // 4) + b.output_tokens,
        }
        base = {"id": f"chatcmpl-{number}", "created": int(time.time()), "model": b.model_version}
        headers = {"x-request-id": f"req_{number}"}
        if not request.get("stream"):
            message = {"role": "assistant", "content": b.answer}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            await _json(send, 200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}, headers)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    *((k.encode(), v.encode()) for k, v in headers.items()),
                ],
            }
        )
        chunk = {**base, "object": "chat.completion.chunk"}
        events = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {"content": b.answer}, "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk, "choices": [], "usage": usage})
        for event in events:
            await send(
                {"type": "http.response.body", "body": f"data: {json.dumps(event)}\n\n".encode(), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def _json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
