"""The provider connection pool: reuse, limits, idle surplus and expiry, as httpcore's pool behaves."""

from __future__ import annotations

import asyncio

import httpcore
import httpx
import pytest

from shared.providers import pool as pool_module
from shared.providers.client import new_http_client
from shared.providers.egress import guarded_transport
from shared.providers.pool import ProviderConnectionPool
from tests.providers.raw_http import RawServer


def _client(limits: httpx.Limits) -> tuple[httpx.AsyncClient, ProviderConnectionPool]:
    transport = guarded_transport(True, limits=limits)
    pool = transport._pool
    assert isinstance(pool, ProviderConnectionPool)
    return new_http_client(timeout=httpx.Timeout(3.0), transport=transport), pool


def test_the_overridden_method_still_exists_in_httpcore() -> None:
    # The pool replaces a private method: an httpcore that renames it must fail here, not go slow.
    assert "_assign_requests_to_connections" in vars(httpcore.AsyncConnectionPool)


async def test_concurrent_requests_share_at_most_max_connections() -> None:
    client, pool = _client(httpx.Limits(max_connections=2, max_keepalive_connections=2))
    async with RawServer(delay=0.05) as server, client:
        answers = await asyncio.gather(*(client.get(f"http://127.0.0.1:{server.port}/") for _ in range(6)))
        assert [a.text for a in answers] == ["ok"] * 6
        assert server.connections == 2
        assert len(pool.connections) == 2


async def test_idle_connections_beyond_the_keepalive_limit_are_closed() -> None:
    client, pool = _client(httpx.Limits(max_connections=10, max_keepalive_connections=1))
    async with RawServer(delay=0.05) as server, client:
        await asyncio.gather(*(client.get(f"http://127.0.0.1:{server.port}/") for _ in range(4)))
        assert server.connections == 4
        await client.get(f"http://127.0.0.1:{server.port}/")  # one more pass over the pool
        idle = [c for c in pool.connections if c.is_idle()]
        assert len(idle) == 1


async def test_a_connection_past_its_keepalive_expiry_is_not_reused() -> None:
    client, _ = _client(httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=0.05))
    async with RawServer() as server, client:
        await client.get(f"http://127.0.0.1:{server.port}/")
        await client.get(f"http://127.0.0.1:{server.port}/")
        assert server.connections == 1
        await asyncio.sleep(0.2)
        await client.get(f"http://127.0.0.1:{server.port}/")
        assert server.connections == 2


async def test_the_sweep_closes_expired_connections_that_are_never_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "SWEEP_INTERVAL_S", 0.0)
    client, pool = _client(httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=0.05))
    async with RawServer(delay=0.05) as first, RawServer() as second, client:
        await asyncio.gather(*(client.get(f"http://127.0.0.1:{first.port}/") for _ in range(3)))
        assert len(pool.connections) == 3
        await asyncio.sleep(0.2)
        # A request to another origin runs the pool's pass: the first origin's expired connections go.
        await client.get(f"http://127.0.0.1:{second.port}/")
        assert [
            c.can_handle_request(httpcore.URL(f"http://127.0.0.1:{second.port}/").origin) for c in pool.connections
        ] == [True]
