"""The asyncio network backend under httpx: keep-alive, a peer closing idle connections, timeouts.

TLS through this backend is covered by test_egress.py (`guarded_transport` uses it by default).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.providers.client import new_http_client
from shared.providers.egress import guarded_transport

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class RawServer:
    """HTTP/1.1 on 127.0.0.1 from raw sockets: answers each request, optionally closes idle connections."""

    def __init__(self, *, close_idle_after: float | None = None, stall: bool = False) -> None:
        self.close_idle_after = close_idle_after
        self.stall = stall
        self.connections = 0
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    async with asyncio.timeout(self.close_idle_after):
                        head = await reader.readuntil(b"\r\n\r\n")
                except (TimeoutError, asyncio.IncompleteReadError):
                    return  # idle too long, or the client went away: close
                del head
                self.requests += 1
                if self.stall:
                    await asyncio.sleep(5)
                writer.write(RESPONSE)
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


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
