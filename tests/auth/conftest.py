"""Fixtures of the auth tests: RSA test keys, real signed JWTs, a JWKS server on 127.0.0.1, a fake clock."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.auth import JwksCache, SessionTokenVerifier
from tests.support.clerk import AUTHORIZED_PARTIES, ISSUER, FakeClock, JwksServer, RsaKey, new_rsa_key


@pytest.fixture(scope="session")
def signing_key() -> RsaKey:
    """The key the JWKS server publishes from the start."""
    return new_rsa_key("ins_key_1")


@pytest.fixture(scope="session")
def impostor_key() -> RsaKey:
    """Another key claiming the same `kid` as `signing_key`: what a forger would sign with."""
    return new_rsa_key("ins_key_1")


@pytest.fixture(scope="session")
def rotated_key() -> RsaKey:
    """The key Clerk rotates to, published later under a new `kid`."""
    return new_rsa_key("ins_key_2")


@pytest.fixture
def jwks_server(signing_key: RsaKey) -> Iterator[JwksServer]:
    """A JWKS server publishing `signing_key`, stopped at the end of the test."""
    server = JwksServer([signing_key.jwk()])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock shared by the verifier (wall time) and the JWKS cache (refresh interval)."""
    return FakeClock()


@pytest.fixture(scope="session")
def tls_context() -> ssl.SSLContext:
    """One default TLS context for the session: loading the CA bundle per client is the slowest part of a test."""
    return ssl.create_default_context()


@pytest.fixture
async def http_client(tls_context: ssl.SSLContext) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client the JWKS cache uses, as the application would pass its shared one."""
    async with httpx.AsyncClient(verify=tls_context) as client:
        yield client


@pytest.fixture
def jwks_cache(jwks_server: JwksServer, http_client: httpx.AsyncClient, clock: FakeClock) -> JwksCache:
    """A JWKS cache on the test server, on the fake clock."""
    return JwksCache(jwks_server.url, client=http_client, clock=clock)


@pytest.fixture
def verifier(jwks_cache: JwksCache, clock: FakeClock) -> SessionTokenVerifier:
    """A verifier with JWKS keys, the test issuer and authorized parties, on the fake clock."""
    return SessionTokenVerifier(issuer=ISSUER, jwks=jwks_cache, authorized_parties=AUTHORIZED_PARTIES, clock=clock)
