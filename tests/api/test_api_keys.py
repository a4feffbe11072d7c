"""Project API keys: shown once, stored as an HMAC only, scoped, revocable at once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from shared.services import Services
from shared.tenancy.api_keys import parse_key
from shared.tenancy.records import scope_key
from tests.conftest import MovableClock, TokenFactory
from tests.support.api import bearer, create_key, create_project
from tests.support.storage_scan import stored_text


@pytest.fixture
async def owner(session_token: TokenFactory, unique_user: str) -> dict[str, str]:
    return bearer(session_token(unique_user))


async def test_key_works_after_creation_and_fails_after_revocation(
    client: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    project = await create_project(client, owner)
    base = f"/api/v1/projects/{project['id']}"
    created = await create_key(client, owner, project["id"], ["runs:read", "runs:write"], name="CI")
    assert created["key"].startswith(f"trk_{created['id']}_")
    assert created["prefix"] == created["key"][: len(created["prefix"])]
    assert created["scopes"] == ["runs:read", "runs:write"]

    for headers in (bearer(created["key"]), {"X-API-Key": created["key"]}):
        response = await client.get(base, headers=headers)
        assert response.status_code == 200
    me = (await client.get("/api/v1/me", headers=bearer(created["key"]))).json()
    assert me["kind"] == "api_key"
    assert me["project_id"] == project["id"]
    assert me["scopes"] == ["runs:read", "runs:write"]

    listed = (await client.get(f"{base}/api-keys", headers=owner)).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    assert (await client.delete(f"{base}/api-keys/{created['id']}", headers=owner)).status_code == 204
    assert (await client.get(base, headers=bearer(created["key"]))).status_code == 401
    fetched = (await client.get(f"{base}/api-keys/{created['id']}", headers=owner)).json()
    assert fetched["revoked_at"] is not None


async def test_wrong_secret_with_a_real_key_id_is_refused(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    project = await create_project(client, owner)
    created = await create_key(client, owner, project["id"], ["runs:read"])
    forged = created["key"][:-4] + ("AAAA" if not created["key"].endswith("AAAA") else "BBBB")
    assert (await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(forged))).status_code == 401


async def test_the_raw_key_is_stored_nowhere(
    client: httpx.AsyncClient, owner: dict[str, str], services: Services
) -> None:
    project = await create_project(client, owner)
    created = await create_key(client, owner, project["id"], ["runs:read"])
    # The secret is base64url and may itself contain "_": split the way the service does.
    parsed = parse_key(created["key"])
    assert parsed is not None
    secret = parsed[1]
    assert len(secret) == 43
    await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(created["key"]))
    everything = stored_text(services.storage)
    assert created["id"] in everything  # the scan does see the key's rows
    assert secret not in everything
    assert created["key"] not in everything
    secrets_file = services.settings.local_secrets_path
    assert secrets_file is not None
    assert secret not in secrets_file.read_text()


async def test_key_scopes_are_enforced(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    project = await create_project(client, owner)
    base = f"/api/v1/projects/{project['id']}"
    reader = await create_key(client, owner, project["id"], ["runs:read"])
    admin = await create_key(client, owner, project["id"], ["admin"])
    key_body = {"name": "k", "scopes": ["runs:read"]}
    assert (await client.post(f"{base}/api-keys", json=key_body, headers=bearer(reader["key"]))).status_code == 403
    assert (await client.post(f"{base}/api-keys", json=key_body, headers=bearer(admin["key"]))).status_code == 201
    # Keys never create projects or delete them, whatever their scopes.
    assert (await client.post("/api/v1/projects", json={"name": "x"}, headers=bearer(admin["key"]))).status_code == 403
    assert (await client.delete(base, headers=bearer(admin["key"]))).status_code == 403


async def test_key_of_one_project_cannot_reach_another(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    first = await create_project(client, owner, "first")
    second = await create_project(client, owner, "second")
    key = await create_key(client, owner, first["id"], ["admin"])
    assert (await client.get(f"/api/v1/projects/{second['id']}", headers=bearer(key["key"]))).status_code == 404
    listed = (await client.get("/api/v1/projects", headers=bearer(key["key"]))).json()["items"]
    assert [p["id"] for p in listed] == [first["id"]]


async def test_last_used_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, owner: dict[str, str], services: Services, clock: MovableClock
) -> None:
    project = await create_project(client, owner)
    created = await create_key(client, owner, project["id"], ["runs:read"])
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]

    def stored() -> tuple[object, str | None]:
        entity = services.api_keys.keys.table.get(scope_key(tenant, project["id"]), created["id"])
        return entity.get("last_used_at"), entity.etag

    await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(created["key"]))
    first_used, first_etag = stored()
    assert first_used is not None
    clock.advance(timedelta(seconds=30))
    for _ in range(3):
        await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(created["key"]))
    assert stored() == (first_used, first_etag)  # no write at all within the minute
    clock.advance(timedelta(seconds=31))
    await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(created["key"]))
    later, _ = stored()
    assert later != first_used


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "k", "scopes": []}, "body.scopes"),
        ({"name": "k", "scopes": ["runs:delete"]}, "body.scopes[0]"),
        ({"name": "k"}, "body.scopes"),
        ({"name": "k", "scopes": ["runs:read"], "secret": "mine"}, "body.secret"),
    ],
)
async def test_bad_key_bodies_name_the_field(
    client: httpx.AsyncClient, owner: dict[str, str], body: dict[str, object], path: str
) -> None:
    project = await create_project(client, owner)
    response = await client.post(f"/api/v1/projects/{project['id']}/api-keys", json=body, headers=owner)
    assert response.status_code == 422
    assert path in {e["path"] for e in response.json()["errors"]}
