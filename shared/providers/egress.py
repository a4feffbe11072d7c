"""SSRF guard for provider calls: which base URLs and which addresses a tenant's call may reach.

A tenant chooses the base URL of its credential, so without a guard it could point our workers at
loopback, the VNet, or the cloud metadata endpoint (169.254.169.254) and read the answers back. Two
layers, both refusing loopback, private, link-local, multicast, reserved, unspecified and shared
(CGNAT) addresses unless `TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS` is on:

- `check_base_url` when a credential is saved: https only, no userinfo, query or fragment, no IP literal
  (in any spelling `getaddrinfo` accepts: `2130706433`, `0x7f.1`, `::ffff:127.0.0.1`) or `localhost`
  name in a refused range. `check_base_url_resolved` also resolves the name, for an early answer.
- `guarded_transport` under every call: its network backend resolves the host itself, refuses the
  connection when ANY resolved address is refused, and connects to the address it checked, so a name
  that answers a public address when the credential is saved and 127.0.0.1 later (DNS rebinding)
  is still refused: there is exactly one resolution per connection and it is the one checked. TLS
  SNI, certificate verification and the Host header still use the hostname (httpcore takes them from
  the request's origin, not from the address we connect to). Every request, redirect hops included
  should a caller ever follow one, goes through the same check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from shared.providers.asyncio_backend import AsyncioBackend
from shared.providers.pool import ProviderConnectionPool

logger = logging.getLogger("tokenroute.providers.egress")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (host, port) -> the addresses (as text) a connection to host:port may use, in preference order.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

ALLOW_SETTING = "TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS"

# 100.64.0.0/10 is neither `is_private` nor `is_global` in Python's tables; named for a clear message.
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
# RFC 6052 NAT64: a gateway translates 64:ff9b::a.b.c.d to the IPv4 a.b.c.d (Python calls it global).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# One part of a numeric host as inet_aton (and so getaddrinfo) reads it: hex, octal or decimal.
_INET_ATON_PART = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*", re.IGNORECASE)
# What a base URL's host may look like after IDNA encoding (IPv6 literals are checked separately).
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class EgressRefused(httpx.UnsupportedProtocol, ValueError):
    """A base URL or a connection the SSRF policy refuses.

    A ValueError for validation code (pydantic turns it into a field error), and an httpx
    `UnsupportedProtocol` (a `RequestError`) so that raised under a request it is what httpx callers
    expect: `transport.post_json` maps it to a non-retryable `request` ProviderError. Messages name the
    host and the reason, never the whole URL (it could carry credentials).
    """


def refusal_reason(address: IPAddress) -> str | None:
    """Why the policy refuses `address` when private endpoints are not allowed; None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address the packet is really delivered to are judged by it.
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return None if reason is None else f"{reason} (IPv4 {embedded} inside IPv6)"
        if address.sixtofour is not None and (reason := refusal_reason(address.sixtofour)) is not None:
            return f"{reason} (IPv4 {address.sixtofour} inside a 6to4 address)"
        if address.teredo is not None:
            return "a Teredo tunnel address"
    if address.is_unspecified:
        return "unspecified (0.0.0.0 / ::, which reaches this machine)"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (where cloud metadata endpoints such as 169.254.169.254 live)"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared address space (carrier-grade NAT, 100.64.0.0/10)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address glibc's inet_aton reads in `host` (`127.1`, `2130706433`, `0x7f.0.0.1`), if any."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_INET_ATON_PART.fullmatch(part) for part in parts):
        return None
    values = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            values.append(int(part, 8))
        else:
            values.append(int(part))
    # Every part but the last is one byte; the last fills the bytes that are left.
    if any(value > 0xFF for value in values[:-1]) or values[-1] >= 1 << (8 * (5 - len(parts))):
        return None
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> IPAddress | None:
    """The address `host` denotes without DNS (an IPv4 or IPv6 literal in any spelling), else None."""
    bare = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return _inet_aton(bare)


def host_refusal(host: str) -> str | None:
    """Why `host` is refused before any DNS lookup (a refused IP literal, a localhost name); None if not."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "a localhost name (always resolves to loopback)"
    address = literal_address(name)
    return None if address is None else refusal_reason(address)


def _refused(host: str, reason: str) -> EgressRefused:
    return EgressRefused(
        f"refused to reach {host!r}: {reason}; private endpoints are allowed only when {ALLOW_SETTING} is on"
    )


def _url_host(url: httpx.URL) -> str:
    # raw_host is what httpx connects to: IDNA-encoded, lower case, IPv6 without brackets.
    return url.raw_host.decode("ascii")


def check_base_url(url: str, *, allow_private: bool) -> str:
    """The normalized base URL (scheme and host lower case, default port and trailing slash dropped).

    Raises EgressRefused (a ValueError) unless the URL is https (http only when `allow_private`) with a
    host and without userinfo, query or fragment, and - unless `allow_private` - its host is not an IP
    literal in a refused range nor a localhost name. DNS names are checked where they are used: at
    connect time by `guarded_transport` (and, for an early answer, by `check_base_url_resolved`).
    """
    text = url.strip()
    if not text:
        raise EgressRefused("the base URL is empty")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise EgressRefused(f"the base URL is not a valid URL ({exc})") from None
    if parsed.scheme not in ("https", "http"):
        raise EgressRefused(f"the base URL must use https, not {parsed.scheme or 'no scheme'!r}")
    if parsed.scheme == "http" and not allow_private:
        raise EgressRefused(f"the base URL must use https; plain http is allowed only when {ALLOW_SETTING} is on")
    host = _url_host(parsed)
    if not host:
        raise EgressRefused("the base URL has no host")
    # httpx keeps percent escapes and stray characters in a host; getaddrinfo's reading of them is not ours.
    if not (_HOST_NAME.fullmatch(host) or (":" in host and literal_address(host) is not None)):
        raise EgressRefused(f"the base URL host {host!r} is not a valid host name or IP address")
    # Userinfo would travel as a Basic auth header to whoever runs the host; keys go in credentials.
    if parsed.userinfo:
        raise EgressRefused(f"the base URL for {host!r} must not contain a user name or password")
    if "#" in text:
        raise EgressRefused(f"the base URL for {host!r} must not contain a fragment")
    # Adapters append paths to the base URL: a query string would end up in the middle of the URL.
    if "?" in text:
        raise EgressRefused(f"the base URL for {host!r} must not contain a query string")
    if not allow_private and (reason := host_refusal(host)) is not None:
        raise _refused(host, reason)
    netloc = f"[{host}]" if ":" in host else host
    if parsed.port is not None and parsed.port != (443 if parsed.scheme == "https" else 80):
        netloc += f":{parsed.port}"
    path = parsed.raw_path.decode("ascii").rstrip("/")
    return f"{parsed.scheme}://{netloc}{path}"


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves `host` to (getaddrinfo, as a socket connect would)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked(host: str, addresses: Iterable[str]) -> list[str]:
    """`addresses` when every one of them is allowed; refuses the host when any one is not."""
    allowed = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise _refused(host, f"it resolved to {text!r}, which is not an IP address") from None
        if (reason := refusal_reason(address)) is not None:
            # One bad answer refuses the host: an attacker controls which answer we would try first.
            raise _refused(host, f"it resolves to {address}, which is {reason}")
        allowed.append(text)
    return allowed


async def check_base_url_resolved(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> str:
    """`check_base_url`, then (unless `allow_private`) every address the host resolves to is checked.

    For an early, friendly answer when a credential is saved; it proves nothing about later
    connections, which `guarded_transport` checks again. Raises OSError when the name does not resolve.
    """
    normalized = check_base_url(url, allow_private=allow_private)
    if allow_private:
        return normalized
    parsed = httpx.URL(normalized)
    host = _url_host(parsed)
    if literal_address(host) is None:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        _checked(host, await resolver(host, port))
    return normalized


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects in one place, so the address checked is the address connected to."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner if inner is not None else AsyncioBackend()

    async def _addresses(self, host: str, port: int) -> list[str]:
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(await self._resolver(host, port))
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
            if not addresses:
                raise httpcore.ConnectError(f"{host!r} resolved to no address")
        if self._allow_private:
            return addresses
        return _checked(host, addresses)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, refuse it if any address is refused, else connect to the first that answers."""
        if not self._allow_private and (reason := host_refusal(host)) is not None:
            raise _refused(host, reason)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._addresses(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host!r} took longer than {timeout}s") from None
        options = list(socket_options) if socket_options is not None else None
        last_error: Exception = httpcore.ConnectError(f"no address of {host!r} accepted the connection")
        for address in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=remaining, local_address=local_address, socket_options=options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never used for provider calls: a Unix socket would bypass the address policy."""
        raise EgressRefused("connections over Unix sockets are not allowed for provider calls")

    async def sleep(self, seconds: float) -> None:
        """Delegates to the wrapped backend."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the connection pool on a `GuardedNetworkBackend`.

    No proxy, no environment (a proxy would make the connection on our behalf, unchecked). With
    `allow_private` every scheme check and address check is skipped, but resolution still goes through
    `resolver`, so tests can map names to local servers.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = _DEFAULT_LIMITS,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self.allow_private = allow_private
        # httpx 0.28 takes no network backend, so the pool it built is replaced by our pool (`pool.py`) on our backend
        # (the refusal tests fail if a later httpx stops reading `_pool`).
        self._pool = ProviderConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(allow_private=allow_private, resolver=resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse http and refused literal hosts before touching the pool; the backend checks the rest."""
        try:
            if not self.allow_private:
                host = _url_host(request.url)
                if request.url.scheme != "https":
                    raise EgressRefused(
                        f"refused to call {host!r} over {request.url.scheme}: only https is allowed "
                        f"unless {ALLOW_SETTING} is on"
                    )
                if (reason := host_refusal(host)) is not None:
                    raise _refused(host, reason)
            return await super().handle_async_request(request)
        except EgressRefused as exc:
            exc.request = request
            logger.warning("egress refused: %s", exc)
            raise


def guarded_transport(
    allow_private: bool,
    *,
    resolver: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = _DEFAULT_LIMITS,
) -> GuardedTransport:
    """The transport every provider call goes through; `allow_private` is `settings.allow_private_endpoints`.

    `resolver` and `verify` exist for tests (names mapped to local servers, a test CA).
    """
    return GuardedTransport(allow_private=allow_private, resolver=resolver, verify=verify, limits=limits)
