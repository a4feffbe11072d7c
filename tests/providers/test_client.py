"""The shared provider client: what it keeps between calls."""

from __future__ import annotations

from shared.providers.client import new_http_client
from tests.providers.raw_http import RawServer


async def test_a_cookie_a_provider_sets_is_never_sent_again() -> None:
    # One client serves every tenant: a cookie set on tenant A's call must not ride on tenant B's.
    async with RawServer(cookie=True) as server, new_http_client(allow_private=True) as client:
        first = await client.get(f"http://127.0.0.1:{server.port}/v1/chat/completions")
        assert first.headers["set-cookie"].startswith("__cf_bm=")
        await client.get(f"http://127.0.0.1:{server.port}/v1/chat/completions")
        assert len(server.heads) == 2
        assert all(b"cookie" not in head.lower() for head in server.heads)
        assert not client.cookies
