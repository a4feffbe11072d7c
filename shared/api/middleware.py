"""The outermost layer of the HTTP API: request id, body size limit, access log, last-resort 500.

It is a pure ASGI middleware so that it also catches what FastAPI's exception handlers do not:
Starlette re-raises unhandled exceptions after answering, which inside the Functions host
would turn into a bare 500 without our problem body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

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
    """Gives every request an id (echoed in `X-Request-Id`), bounds its body and logs its outcome."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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

        with log_context(request_id=request_id, function="http"):
            try:
                declared = _content_length(scope)
                if declared is not None and declared > self.max_body_bytes:
                    raise BodyTooLarge
                buffered = await read_body()
                await self.app(scope, replay, send_with_id)
            except BodyTooLarge:
                if not response_started:
                    response = problem_response(
                        413, "payload-too-large", "Payload too large", f"The body exceeds {self.max_body_bytes} bytes."
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
