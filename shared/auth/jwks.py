"""The Clerk instance's public signing keys, fetched from its JWKS endpoint and cached by `kid`.

Verification sits on the request path, so the cache is built to degrade gracefully: a known
`kid` never waits for the network, an unknown `kid` triggers at most one fetch a minute (an
attacker sending random `kid`s cannot turn TokenRoute into a load generator against Clerk),
and a failed fetch keeps the keys already cached, so sessions keep working while the JWKS
endpoint is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

logger = logging.getLogger(__name__)

MIN_RSA_KEY_BITS = 2048
"""Smaller RSA keys are refused, from the JWKS and from `CLERK_JWT_KEY` alike."""

DEFAULT_MIN_REFRESH_INTERVAL = 60.0
"""Seconds between two JWKS fetches, whatever the number of unknown `kid`s seen meanwhile."""

# Short on purpose: a request waits for this fetch, and a slow Clerk must not pile up requests.
DEFAULT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
# httpx timeouts are per phase (a body trickling in resets the read timeout); this bounds the whole fetch.
_FETCH_DEADLINE_SECONDS = 5.0


def rsa_signing_keys(document: Any) -> dict[str, RSAPublicKey]:
    """The usable keys of a JWKS document, by `kid`.

    Only RSA public keys meant for signatures are kept: `kty` RSA, `use` "sig" or absent,
    `alg` "RS256" or absent, a non-empty `kid`, no private part, at least 2048 bits.
    Anything else is skipped (and logged), never an error: one odd key must not hide the others.
    """
    keys: dict[str, RSAPublicKey] = {}
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        return keys
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
            logger.debug("JWKS key %r skipped: not an RS256 signing key", kid)
            continue
        if "d" in entry:
            # A JWKS endpoint publishing a private key is broken; do not build on it.
            logger.warning("JWKS key %r skipped: it carries a private part", kid)
            continue
        try:
            key = RSAAlgorithm.from_jwk(dict(entry))
        except (InvalidKeyError, ValueError, TypeError):
            logger.warning("JWKS key %r skipped: not a valid RSA public key", kid)
            continue
        if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_KEY_BITS:
            logger.warning("JWKS key %r skipped: RSA public key of at least %d bits expected", kid, MIN_RSA_KEY_BITS)
            continue
        if kid in keys:
            logger.warning("JWKS key %r skipped: duplicate kid, the first one is kept", kid)
            continue
        keys[kid] = key
    return keys


class JwksCache:
    """Public keys from one JWKS URL, by `kid`, refreshed on an unknown `kid` at most once per interval.

    Pass the application's shared `httpx.AsyncClient`, or none and the cache owns one (close it
    with `aclose()` or `async with`). `clock` is a monotonic clock in seconds, injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the cache; nothing is fetched until a key is asked for."""
        if min_refresh_interval <= 0:
            raise ValueError("min_refresh_interval must be positive")
        self._url = url
        self._client = client
        self._owns_client = client is None
        self._min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, RSAPublicKey] = {}
        self._last_attempt: float | None = None
        # One fetch at a time: concurrent requests for the same unknown kid wait for the
        # fetch in flight instead of starting their own.
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """The JWKS URL keys are fetched from."""
        return self._url

    @property
    def kids(self) -> frozenset[str]:
        """The `kid`s cached right now."""
        return frozenset(self._keys)

    async def get_key(self, kid: str) -> RSAPublicKey | None:
        """The public key for `kid`, or None when the JWKS does not have it (or cannot be fetched now).

        A cached `kid` is answered without I/O. An unknown one triggers a fetch unless one was
        attempted (successfully or not) less than `min_refresh_interval` ago.
        """
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            # The fetch we may have waited for can have brought the key.
            key = self._keys.get(kid)
            if key is not None:
                return key
            now = self._clock()
            if self._last_attempt is not None and now - self._last_attempt < self._min_refresh_interval:
                return None
            # Recorded before the fetch, so a failing endpoint is also asked at most once per interval.
            self._last_attempt = now
            fetched = await self._fetch()
            if fetched is not None:
                # Replace, not merge: a key Clerk no longer publishes has been rotated out or revoked.
                self._keys = fetched
            return self._keys.get(kid)

    async def _fetch(self) -> dict[str, RSAPublicKey] | None:
        """The keys currently published, or None when the endpoint cannot give a usable answer."""
        try:
            async with asyncio.timeout(_FETCH_DEADLINE_SECONDS):
                response = await self._http().get(
                    self._url, headers={"Accept": "application/json"}, timeout=self._timeout
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            logger.warning(
                "JWKS fetch from %s failed: %s; keeping %d cached key(s)",
                self._url,
                type(exc).__name__,
                len(self._keys),
            )
            return None
        if response.status_code != httpx.codes.OK:
            logger.warning(
                "JWKS fetch from %s answered HTTP %d; keeping %d cached key(s)",
                self._url,
                response.status_code,
                len(self._keys),
            )
            return None
        try:
            document = response.json()
        except ValueError:
            logger.warning("JWKS fetch from %s: the body is not JSON; keeping the cached keys", self._url)
            return None
        keys = rsa_signing_keys(document)
        if not keys:
            # An empty set would lock every user out; more likely a broken answer than a real
            # revocation of every key, so the cached keys stay.
            logger.warning("JWKS fetch from %s: no usable RS256 key; keeping the cached keys", self._url)
            return None
        logger.info("JWKS fetched from %s: %d key(s)", self._url, len(keys))
        return keys

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Redirects are not followed: the JWKS URL is configured exactly.
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this cache created it; a client passed in is left to its owner."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Self:
        """Use the cache as an async context manager that closes its own client on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the owned client."""
        await self.aclose()
