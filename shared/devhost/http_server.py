"""The HTTP side of the local host: route a request to an HTTP function, as the Functions host does.

`HttpDispatcher` is an ASGI application: it matches the path under the route prefix, builds the
`azure.functions.HttpRequest` the worker would build (full URL with query string, parsed query
params, route params, lower-cased headers, raw body bytes), invokes the function and turns its
`HttpResponse` back into HTTP. `HttpServer` serves it with uvicorn on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func
import uvicorn
from azure.functions.http import HttpRequest as WorkerHttpRequest

from shared.devhost.functions import FunctionSpec, HostError, InvocationContext, Invoker
from shared.devhost.routes import RouteTemplate

log = logging.getLogger("tokenroute.devhost.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# The host computes these itself; a function's own values would be wrong after our framing.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class HttpRoute:
    """An HTTP function with its compiled route template and allowed methods."""

    spec: FunctionSpec
    template: RouteTemplate
    methods: frozenset[str]

    @classmethod
    def from_spec(cls, spec: FunctionSpec) -> HttpRoute:
        """Compile the trigger's `route` (default: the function name) and `methods` (default: all)."""
        route = spec.setting("route") or spec.name
        try:
            template = RouteTemplate.parse(str(route))
        except ValueError as error:
            raise HostError(f"function {spec.name}: {error}") from error
        methods = spec.setting("methods")
        allowed = ALL_METHODS if not methods else frozenset(_method_name(m) for m in methods)
        return cls(spec, template, allowed)


def _method_name(method: Any) -> str:
    return str(getattr(method, "value", method)).upper()


def order_routes(routes: Sequence[HttpRoute]) -> list[HttpRoute]:
    """Most specific first, as ASP.NET routing orders them (ties: template text, then definition order)."""
    return sorted(routes, key=lambda r: (r.template.precedence, r.template.template.lower()))


class HttpDispatcher:
    """ASGI application that dispatches to HTTP functions under the route prefix."""

    def __init__(
        self,
        routes: Sequence[HttpRoute],
        route_prefix: str,
        invoker: Invoker,
        *,
        max_body_bytes: int,
        default_authority: str,
    ) -> None:
        self.routes = order_routes(routes)
        self.prefix = route_prefix.strip("/")
        self.invoker = invoker
        self.max_body_bytes = max_body_bytes
        self.default_authority = default_authority

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope (only `http`; the server runs without lifespan or websockets)."""
        if scope["type"] != "http":
            return
        method = str(scope["method"]).upper()
        raw_path = _raw_path(scope)
        found = self._find(method, raw_path)
        if found is None:
            await _respond(send, 404, [], b"", method)
            return
        route, route_params = found
        try:
            body = await _read_body(scope, receive, self.max_body_bytes)
        except _ClientGoneError:
            return  # nobody is left to answer, so the function does not run on half a body
        if body is None:
            await _respond(send, 413, [], b"", method)
            return
        request = self._request(scope, method, raw_path, route_params, body)
        headers = request.headers
        context = InvocationContext(
            route.spec.name,
            route.spec.directory,
            trace_parent=headers.get("traceparent", ""),
            trace_state=headers.get("tracestate", ""),
        )
        try:
            result = await self.invoker.invoke(route.spec, request, context, reason="This function was invoked by HTTP")
            status, response_headers, response_body = to_http_response(result)
        except Exception as error:
            # The app is expected to answer its own errors (problem+json); the host only guards.
            if isinstance(error, _BadResultError):
                log.error("function %s returned %s, which is not an HTTP response", route.spec.name, error)
            await _respond(send, 500, [], b"", method)
            return
        try:
            await _respond(send, status, response_headers, response_body, method)
        except UnicodeEncodeError:
            # Raised while encoding the headers, before anything was sent: the answer can still be a 500.
            log.error("function %s returned a header that is not Latin-1 text", route.spec.name)
            await _respond(send, 500, [], b"", method)

    def _find(self, method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        relative = _strip_prefix(raw_path, self.prefix)
        if relative is None:
            return None
        # ASP.NET routing ignores one trailing slash.
        if relative.endswith("/"):
            relative = relative[:-1]
        for route in self.routes:
            if method not in route.methods:
                continue
            params = route.template.match(relative)
            if params is not None:
                return route, params
        return None

    def _request(
        self, scope: Scope, method: str, raw_path: str, route_params: dict[str, str], body: bytes
    ) -> func.HttpRequest:
        headers = _joined(_decoded_headers(scope))
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        authority = headers.get("host") or self.default_authority
        url = f"{scope.get('scheme', 'http')}://{authority}{raw_path}" + (f"?{query}" if query else "")
        params = _joined((name, value) for name, value in parse_qsl(query, keep_blank_values=True))
        # The worker builds azure.functions.http.HttpRequest (a func.HttpRequest) with the body as bytes.
        return WorkerHttpRequest(
            method=method,
            url=url,
            headers=headers,
            params=params,
            route_params=route_params,
            body_type="bytes",
            body=body,
        )


class _ClientGoneError(Exception):
    """The client disconnected before sending its whole body."""


class _BadResultError(TypeError):
    """A function returned something the HTTP output cannot carry."""


def to_http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, header pairs (repeats kept, e.g. Set-Cookie) and body of a function's return value.

    As in the worker: an `HttpResponse` keeps its status and headers and gets a content type from
    its mimetype and charset when it has none; a `str` is a 200 text/plain body; None is a 204.
    """
    if result is None:
        return 204, [], b""
    if isinstance(result, str):
        return 200, [("content-type", "text/plain; charset=utf-8")], result.encode("utf-8")
    if not isinstance(result, func._abc.HttpResponse):
        raise _BadResultError(type(result).__name__)
    pairs = [(str(name), str(value)) for name, value in result.headers.items()]
    if not any(name.lower() == "content-type" for name, _ in pairs):
        mimetype, charset = result.mimetype, result.charset
        pairs.append(("content-type", f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype))
    pairs = [(name, value) for name, value in pairs if name.lower() not in _FRAMING_HEADERS]
    return int(result.status_code), pairs, bytes(result.get_body() or b"")


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1")
    return str(scope.get("path", "/"))


def _strip_prefix(path: str, prefix: str) -> str | None:
    """The path after `/<prefix>/` (case-insensitive), or None when it is not under the prefix."""
    path = path.lstrip("/")
    if not prefix:
        return path
    lowered, wanted = path.lower(), prefix.lower()
    if lowered == wanted:
        return ""
    if lowered.startswith(wanted + "/"):
        return path[len(prefix) + 1 :]
    return None


def _decoded_headers(scope: Scope) -> Iterator[tuple[str, str]]:
    for name, value in scope.get("headers", []):
        yield bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1")


def _joined(pairs: Iterator[tuple[str, str]] | Sequence[tuple[str, str]]) -> dict[str, str]:
    # The host passes headers and query parameters as one string per name; repeats are joined by commas.
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than `limit` bytes."""
    for name, value in scope.get("headers", []):
        if bytes(name).lower() == b"content-length":
            with contextlib.suppress(ValueError):
                if int(value) > limit:
                    return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[str, str]], body: bytes, method: str) -> None:
    encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if status >= 200 and status not in (204, 304):
        encoded.append((b"content-length", str(len(body)).encode()))
    else:
        body = b""  # these statuses carry no body
    await send({"type": "http.response.start", "status": status, "headers": encoded})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The Host owns SIGINT/SIGTERM: it stops queues and timers too, in order.
        yield


class HttpServer:
    """uvicorn serving an `HttpDispatcher` on 127.0.0.1; `start` binds, `stop_accepting` + `wait_stopped` drain."""

    # Loopback only: the local host has no authentication of its own and must not be reachable from outside.
    host = "127.0.0.1"

    def __init__(self, dispatcher: HttpDispatcher, port: int, *, grace_seconds: float) -> None:
        self.dispatcher = dispatcher
        self.requested_port = port
        self.grace_seconds = grace_seconds
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        """The bound port once started (useful when 0 was asked for); before, the requested one."""
        if self._socket is None:
            return self.requested_port
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        """Bind the socket (failing loudly if the port is taken) and start serving."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError as error:
            sock.close()
            raise HostError(f"cannot listen on {self.host}:{self.requested_port}: {error.strerror}") from error
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        config = uvicorn.Config(
            self.dispatcher,
            interface="asgi3",
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=max(math.ceil(self.grace_seconds), 1),
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="devhost-http")
        while not self._server.started:
            if self._task.done():
                await self._task  # raises what made it stop
                raise HostError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)

    def stop_accepting(self) -> None:
        """Stop taking connections; requests in progress go on until `wait_stopped`'s grace ends."""
        if self._server is not None:
            self._server.should_exit = True

    def hurry(self) -> None:
        """Stop waiting for requests in progress."""
        if self._server is not None:
            self._server.force_exit = True

    async def wait_stopped(self) -> None:
        """Wait until uvicorn has drained (within its graceful-shutdown timeout) and closed."""
        if self._task is not None:
            await self._task
        if self._socket is not None:
            self._socket.close()
