"""A local HTTP/1.1 server on 127.0.0.1 that replays queued responses and records what it received.

Threaded (`ThreadingHTTPServer`), so it runs independently of the test's event loop: streamed replies
are written one chunk at a time with real delays, and a "hung" reply accepts the request and never
answers until the test releases it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """What the adapter sent: method, target (path and query), lower-cased headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The path without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The parsed query string."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object."""
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


@dataclass
class Reply:
    """One queued response. `chunks` streams with chunked encoding; `body` is sent whole."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reason: str | None = None
    chunks: list[bytes] | None = None
    delays: list[float] | None = None  # seconds to wait before each chunk
    hang: bool = False  # accept the request, never answer
    hang_after_chunks: int | None = None  # stream this many chunks, then stall
    body_from_request: Callable[[RecordedRequest], bytes] | None = None


class ReplayServer:
    """Queue replies with `enqueue`; read `requests` afterwards."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.release = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay-server", daemon=True)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "") -> str:
        """An absolute URL on this server."""
        return self.base_url + path

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Wake hung handlers, stop serving, close the socket."""
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        """Forget requests and replies; wake any handler still hanging from an earlier test."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
        self.release.set()
        self.release = threading.Event()

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._lock:
            self._replies.extend(replies)

    def take(self, request: RecordedRequest) -> Reply:
        """Record a request and hand out its reply (500 when the test queued none)."""
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return Reply(status=500, headers=[("Content-Type", "text/plain")], body=b"no reply queued")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client hanging up mid-reply (a budget expiring, a stream abandoned after [DONE]) is expected.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def _serve(self) -> None:
        owner = self.server.owner
        release = owner.release
        length = int(self.headers.get("Content-Length") or 0)
        recorded = RecordedRequest(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length),
        )
        reply = owner.take(recorded)
        self.close_connection = True
        if reply.hang:
            release.wait(30)
            return
        self.send_response_only(reply.status, reply.reason)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        if reply.chunks is None:
            body = reply.body_from_request(recorded) if reply.body_from_request else reply.body
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        delays = reply.delays or [0.0] * len(reply.chunks)
        for index, (chunk, delay) in enumerate(zip(reply.chunks, delays, strict=True)):
            if reply.hang_after_chunks is not None and index == reply.hang_after_chunks:
                release.wait(30)
                return
            if delay:
                time.sleep(delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
