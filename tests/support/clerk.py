"""Clerk stand-ins for tests: RSA test keys, real signed JWTs, a JWKS server on 127.0.0.1, a fake clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://clerk.tokenroute.test"
APP_ORIGIN = "https://app.tokenroute.test"
AUTHORIZED_PARTIES = (APP_ORIGIN, "http://localhost:3000")
START = 1_750_000_000.0
"""The fake wall clock's start: a fixed Unix time keeps every test reproducible."""
JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class RsaKey:
    """A test signing key with its `kid`, public JWK and PEM."""

    kid: str
    private: rsa.RSAPrivateKey

    @property
    def public(self) -> rsa.RSAPublicKey:
        """The public half."""
        return self.private.public_key()

    @property
    def public_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM, the form of CLERK_JWT_KEY."""
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self, **extra: Any) -> dict[str, Any]:
        """The public JWK as Clerk publishes it."""
        document = RSAAlgorithm.to_jwk(self.public, as_dict=True)
        document.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        document.update(extra)
        return document


def new_rsa_key(kid: str, bits: int = 2048) -> RsaKey:
    """A fresh RSA key pair, made in the test session (no key material in the repository)."""
    return RsaKey(kid=kid, private=rsa.generate_private_key(public_exponent=65537, key_size=bits))


def session_claims(now: float, **overrides: Any) -> dict[str, Any]:
    """Claims of a Clerk v2 session token issued at `now` (a personal session: no `o`).

    An override of None removes the claim.
    """
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user_2abc",
        "sid": "sess_2xyz",
        "azp": APP_ORIGIN,
        "iat": int(now),
        "nbf": int(now) - 10,
        "exp": int(now) + 60,
        "v": 2,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(key: RsaKey, claims: Mapping[str, Any], *, algorithm: str = "RS256", kid: str | None = "") -> str:
    """A real JWT signed with `key`; `kid` "" means the key's own, None means no `kid` header."""
    headers: dict[str, Any] = {}
    if kid is not None:
        headers["kid"] = kid or key.kid
    return jwt.encode(dict(claims), key.private, algorithm=algorithm, headers=headers)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes | None = None) -> str:
    """A JWT assembled by hand, for what PyJWT refuses to produce (`alg: none`, HS256 keyed with a PEM).

    Without `signature` the signature segment is empty.
    """
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64url(signature or b'')}"


def hs256_with_secret(header: Mapping[str, Any], claims: Mapping[str, Any], secret: bytes) -> str:
    """An HS256 JWT keyed with `secret`, e.g. the verifier's public key PEM (the classic confusion attack)."""
    unsigned = hand_made(header, claims).rsplit(".", 1)[0]
    return f"{unsigned}.{_b64url(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())}"


class FakeClock:
    """A clock that moves only when told to; serves as wall clock and as monotonic clock."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    jwks: JwksServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the hanging-endpoint test) leaves a broken pipe: expected, not news.
        pass


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        owner = cast("_Server", self.server).jwks
        status, body = owner.answer(self.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: the request counter is what the tests look at.
        pass


class JwksServer:
    """A real JWKS endpoint on 127.0.0.1 (free port) that counts requests and can fail or stop."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._keys = keys
        self._requests = 0
        self._failure: HTTPStatus | None = None
        self._body: bytes | None = None
        self._delay = 0.0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.jwks = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        self._running = True

    @property
    def url(self) -> str:
        """The JWKS URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{JWKS_PATH}"

    @property
    def requests(self) -> int:
        """How many requests reached the server so far."""
        with self._lock:
            return self._requests

    def publish(self, *keys: dict[str, Any]) -> None:
        """Replace the published key set."""
        with self._lock:
            self._keys = list(keys)

    def serve_body(self, body: bytes | None) -> None:
        """Answer 200 with exactly `body` instead of the key set (None: serve the key set again)."""
        with self._lock:
            self._body = body

    def slow_down(self, seconds: float) -> None:
        """Wait `seconds` before answering each request, like a hanging endpoint."""
        with self._lock:
            self._delay = seconds

    def fail_with(self, status: HTTPStatus | None) -> None:
        """Answer every request with `status` (None: answer normally again)."""
        with self._lock:
            self._failure = status

    def answer(self, path: str) -> tuple[int, bytes]:
        """Status and body for one request; called from the server thread."""
        with self._lock:
            self._requests += 1
            delay = self._delay
            if self._failure is not None:
                status, body = self._failure, b'{"error": "unavailable"}'
            elif path != JWKS_PATH:
                status, body = HTTPStatus.NOT_FOUND, b"{}"
            elif self._body is not None:
                status, body = HTTPStatus.OK, self._body
            else:
                status, body = HTTPStatus.OK, json.dumps({"keys": self._keys}).encode()
        if delay:
            time.sleep(delay)
        return status, body

    def stop(self) -> None:
        """Stop listening: connections are refused from now on."""
        if self._running:
            self._running = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
