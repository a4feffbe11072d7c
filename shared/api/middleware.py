"""The outermost layer of the HTTP API: request id, body size limits, access log, last-resort 500.

It is a pure ASGI middleware so that it also catches what FastAPI's exception handlers do not:
Starlette re-raises unhandled exceptions after answering, which inside the Functions host
would turn into a bare 500 without our problem body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api.problems import problem_response
from shared.observability.context import log_context

log = logging.getLogger("tokenroute.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"


class BodyTooLarge(Exception):
    """The client sent more bytes than the API accepts."""


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestContextMiddleware:
    """Gives every request an id (echoed in `X-Request-Id`), bounds its body and logs its outcome.

    `streamed` maps path patterns to their own, larger limits: those bodies are not buffered here
    but passed on as they arrive (the route spools them to disk), counted, and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, streamed: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streamed = [(re.compile(pattern), limit) for pattern, limit in (streamed or {}).items()]

    def _streamed_limit(self, scope: Scope) -> int | None:
        path = scope.get("path", "")
        return next((limit for pattern, limit in self.streamed if pattern.fullmatch(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        async def read_body() -> list[Message]:
            # The Functions host hands over whole bodies anyway, so buffering (bounded) costs
            # nothing and lets us refuse an oversized body before any route parses it.
            messages: list[Message] = []
            received = 0
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    return messages
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
                if not message.get("more_body", False):
                    return messages

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        streamed_limit = self._streamed_limit(scope)
        limit = self.max_body_bytes if streamed_limit is None else streamed_limit
        received = 0

        async def counted() -> Message:
            # A streamed body is cut off as soon as it passes its limit (the route is reading it).
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        with log_context(request_id=request_id, function="http"):
            try:
                declared = _content_length(scope)
                if declared is not None and declared > limit:
                    raise BodyTooLarge
                if streamed_limit is None:
                    buffered = await read_body()
                    await self.app(scope, replay, send_with_id)
                else:
                    await self.app(scope, counted, send_with_id)
            except BodyTooLarge:
                if not response_started:
                    response = problem_response(
                        413, "payload-too-large", "Payload too large", f"The body exceeds {limit} bytes."
                    )
                    await response(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled error")
                if not response_started:
                    response = problem_response(
                        500, "internal", "Internal error", "Something went wrong on our side; quote the request id."
                    )
                    await response(scope, receive, send_with_id)
            finally:
                elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
                log.info(
                    "%s %s %s",
                    scope.get("method"),
                    scope.get("path"),
                    status,
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "elapsed_ms": elapsed_ms,
                    },
                )
