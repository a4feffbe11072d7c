"""A raw HTTP/1.1 server on 127.0.0.1 for connection-level tests: counts connections and requests."""

from __future__ import annotations

import asyncio
import contextlib

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
# What Cloudflare in front of a provider sends: a bot-management cookie for the domain.
SET_COOKIE = b"Set-Cookie: __cf_bm=tenant-a-session; path=/; domain=127.0.0.1; HttpOnly\r\n"


class RawServer:
    """HTTP/1.1 on 127.0.0.1 from raw sockets: answers each request, optionally closes idle connections."""

    def __init__(
        self, *, close_idle_after: float | None = None, stall: bool = False, delay: float = 0.0, cookie: bool = False
    ) -> None:
        self.close_idle_after = close_idle_after
        self.stall = stall
        self.delay = delay
        self.cookie = cookie  # answer with a Set-Cookie header
        self.connections = 0
        self.requests = 0
        self.heads: list[bytes] = []  # each request's head, as received
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
                self.heads.append(head)
                self.requests += 1
                await asyncio.sleep(5 if self.stall else self.delay)
                status, rest = RESPONSE.split(b"\r\n", 1)
                writer.write(status + b"\r\n" + SET_COOKIE + rest if self.cookie else RESPONSE)
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
