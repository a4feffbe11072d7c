"""`GET /api/health` reports each store from a real round trip."""

from __future__ import annotations

import httpx

from shared.api.app import create_api
from shared.config import load_settings
from shared.devhost.azurite import Azurite, AzuritePorts
from tests.conftest import settings_environ


async def test_all_stores_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["environment"] == "test"
    assert body["version"]
    assert set(body["stores"]) == {"tables", "blobs", "queues"}
    assert all(store["ok"] for store in body["stores"].values())


async def test_503_names_the_store_when_azurite_stops() -> None:
    own = Azurite(AzuritePorts.free())
    own.start()
    try:
        api = create_api(load_settings(settings_environ(own.connection_string), local_settings=None))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client:
            assert (await client.get("/api/health")).status_code == 200
            own.stop()
            response = await client.get("/api/health")
    finally:
        own.stop()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body["failed"]) == {"tables", "blobs", "queues"}
    assert "tables" in body["detail"]
    assert body["stores"]["tables"]["ok"] is False
    assert "Eby8vdM02" not in response.text  # the account key never leaks into a detail


async def test_503_names_only_the_failed_store() -> None:
    """A connection string whose queue endpoint points nowhere fails only the queue check."""
    own = Azurite(AzuritePorts.free())
    own.start()
    try:
        dead = AzuritePorts.free().queue
        broken = own.connection_string.replace(f":{own.ports.queue}/", f":{dead}/")
        api = create_api(load_settings(settings_environ(broken), local_settings=None))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client:
            response = await client.get("/api/health")
    finally:
        own.stop()
    assert response.status_code == 503
    assert response.json()["failed"] == ["queues"]
