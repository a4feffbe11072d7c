"""A provider stand-in on 127.0.0.1 that answers the model-list calls credential validation makes.

It speaks each provider's wire format for `GET .../models`: the auth header that provider uses, its
success shape, and its real error body for a bad key (bodies below are verbatim from recordings in
../shared/provider-fixtures; Azure's is the message its gateway sends for a wrong `api-key`):

- OpenAI and compatible servers: `GET /v1/models`, `Authorization: Bearer`, 401 `invalid_api_key`;
- Anthropic: `GET /v1/models`, `x-api-key` + `anthropic-version`, 401 `authentication_error`;
- Gemini: `GET /v1beta/models`, `x-goog-api-key`, 400 `API_KEY_INVALID` (Gemini's answer to a bad key);
- Azure OpenAI: `GET /openai/models?api-version=...` and `GET /openai/v1/models`, `api-key`, 401.

Tests can make it fail (`status` with a body), hang (`delay_s`) or echo the key back in errors.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPENAI_401 = {
    "error": {
        "message": "Incorrect API key provided: invalid-*****2345. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
ANTHROPIC_401 = {
    "type": "error",
    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    "request_id": "req_011CWdMEehrhsdujMyQ9pChP",
}
GEMINI_400 = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}
AZURE_401 = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}


@dataclass
class Seen:
    """One request the stand-in received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Behaviour:
    """What the stand-in answers; tests change it between calls."""

    good_keys: set[str] = field(default_factory=set)
    status: int | None = None  # answer this status (with `body`) to every request
    body: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0.0
    echo_key: bool = False  # put the presented key into error messages (some servers do)


class ProviderStandIn:
    """`with ProviderStandIn({"sk-good..."}) as server: server.url("/v1")`."""

    def __init__(self, good_keys: set[str]) -> None:
        self.behaviour = Behaviour(good_keys=set(good_keys))
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, path: str = "") -> str:
        """`http://127.0.0.1:<port><path>`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> ProviderStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        b = self.behaviour
        if b.status is not None:
            return b.status, b.body
        models = [{"id": "model-1", "object": "model", "created": 1700000000, "owned_by": "system"}]

        def refused(body: dict[str, Any], status: int, key: str) -> tuple[int, dict[str, Any]]:
            if b.echo_key:
                body = {"error": {"message": f"key {key} is not valid", "type": "invalid_request_error"}}
            return status, body

        if path == "/v1/models" and "x-api-key" in headers:
            key = headers["x-api-key"]
            if key in b.good_keys and headers.get("anthropic-version"):
                return 200, {"data": [{"type": "model", "id": "claude-sonnet-4-5"}], "has_more": False}
            return refused(ANTHROPIC_401, 401, key)
        if path == "/v1/models":
            key = headers.get("authorization", "").removeprefix("Bearer ")
            if key in b.good_keys:
                return 200, {"object": "list", "data": models}
            return refused(OPENAI_401, 401, key)
        if path == "/v1beta/models":
            key = headers.get("x-goog-api-key", "")
            if key in b.good_keys:
                return 200, {"models": [{"name": "models/gemini-2.5-flash"}]}
            return refused(GEMINI_400, 400, key)
        if path in ("/openai/models", "/openai/v1/models"):
            key = headers.get("api-key", "")
            if path == "/openai/models" and not query.get("api-version"):
                return 404, {"error": {"code": "404", "message": "Resource not found"}}
            if key in b.good_keys:
                return 200, {"object": "list", "data": models}
            return refused(AZURE_401, 401, key)
        return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with standin._lock:
                    standin.seen.append(Seen(parts.path, query, headers))
                if standin.behaviour.delay_s:
                    time.sleep(standin.behaviour.delay_s)
                status, body = standin._answer(parts.path, query, headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                # Silence: the default writes every request line to stderr.
                return

        return Handler
