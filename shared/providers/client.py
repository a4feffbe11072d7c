"""The one `httpx.AsyncClient` a process shares across provider calls."""

from __future__ import annotations

import http.cookiejar
import urllib.request
from http.client import HTTPResponse

import httpx

from shared.providers.egress import guarded_transport

# Connect fast or fail; a read may wait long (a reasoning model can think for minutes before the
# first byte of a non-streamed answer). The per-call budget in retries.py bounds the whole call.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


class NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing. The client is shared by every tenant's calls, so a cookie a provider
    sets on one tenant's call (Cloudflare's `__cf_bm`, say) must never ride along on another's."""

    def extract_cookies(self, response: HTTPResponse, request: urllib.request.Request) -> None:
        """Ignore the response's cookies."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Store nothing."""


def new_http_client(
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_private: bool = False,
) -> httpx.AsyncClient:
    """A client for provider calls: no redirects, no cookies, no environment proxies or netrc, bounded pools.

    Every connection goes through the SSRF guard (`egress.guarded_transport`), which refuses loopback,
    private, link-local and other non-public addresses at connect time unless `allow_private`
    (`settings.allow_private_endpoints`). `transport` replaces the guard: for tests only.
    """
    if transport is None:
        # A custom transport ignores the client's `limits`, so the guard gets them itself.
        transport = guarded_transport(allow_private, limits=DEFAULT_LIMITS)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=DEFAULT_LIMITS,
        follow_redirects=False,
        # trust_env would read proxies and ~/.netrc credentials from the environment.
        trust_env=False,
        cookies=NoCookies(),
        transport=transport,
    )
