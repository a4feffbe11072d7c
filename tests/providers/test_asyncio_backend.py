"""The asyncio network backend under httpx: keep-alive, a peer closing idle connections, timeouts.

TLS through this backend is covered by test_egress.py (`guarded_transport` uses it by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.providers.client import new_http_client
from shared.providers.egress import guarded_transport
from tests.providers.raw_http import RawServer


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_http_client(timeout=httpx.Timeout(2.0), transport=guarded_transport(True)) as http:
        yield http


async def test_a_kept_alive_connection_is_reused(client: httpx.AsyncClient) -> None:
    async with RawServer() as server:
        for _ in range(3):
            response = await client.get(f"http://127.0.0.1:{server.port}/")
            assert response.text == "ok"
    assert (server.requests, server.connections) == (3, 1)


async def test_a_connection_the_server_closed_while_idle_is_not_reused(client: httpx.AsyncClient) -> None:
    async with RawServer(close_idle_after=0.05) as server:
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "ok"
        await asyncio.sleep(0.3)  # the server has closed the idle connection meanwhile
        # Reusing the dead connection would fail the request; the pool must see it closed and reconnect.
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "ok"
    assert (server.requests, server.connections) == (2, 2)


async def test_a_silent_server_is_a_read_timeout() -> None:
    async with (
        RawServer(stall=True) as server,
        new_http_client(timeout=httpx.Timeout(0.2), transport=guarded_transport(True)) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{server.port}/")


async def test_a_refused_connection_is_a_connect_error(client: httpx.AsyncClient) -> None:
    async with RawServer() as server:
        port = server.port
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{port}/")
