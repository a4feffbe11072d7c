"""Projects: create, list, get, rename, delete; roles decide who may do which."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.support.api import bearer, create_key, create_project


async def test_project_lifecycle(client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner, "Support answers ✓")
    assert project["id"].startswith("prj_")
    assert project["name"] == "Support answers ✓"

    fetched = await client.get(f"/api/v1/projects/{project['id']}", headers=owner)
    assert fetched.json() == project

    renamed = await client.patch(f"/api/v1/projects/{project['id']}", json={"name": "Renamed"}, headers=owner)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"

    listed = await client.get("/api/v1/projects", headers=owner)
    assert [p["id"] for p in listed.json()["items"]] == [project["id"]]

    deleted = await client.delete(f"/api/v1/projects/{project['id']}", headers=owner)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/projects/{project['id']}", headers=owner)).status_code == 404
    assert (await client.get("/api/v1/projects", headers=owner)).json()["items"] == []


async def test_deleted_project_is_unreachable_for_its_keys_at_once(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner)
    key = await create_key(client, owner, project["id"], ["runs:read"])
    assert (await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(key["key"]))).status_code == 200
    await client.delete(f"/api/v1/projects/{project['id']}", headers=owner)
    assert (await client.get(f"/api/v1/projects/{project['id']}", headers=bearer(key["key"]))).status_code == 404


async def test_project_listing_pages_with_cursors(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    made = {(await create_project(client, owner, f"p{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/projects", headers=owner, params=params)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(made)


async def test_tampered_cursor_is_a_400_problem(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    response = await client.get("/api/v1/projects", headers=owner, params={"cursor": "eyJub3QiOiJ5b3VycyJ9"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "query.cursor"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({"name": 5}, "body.name"),
        ({"name": "line\nbreak"}, "body.name"),
        ({"name": "ok", "owner": "me"}, "body.owner"),
    ],
)
async def test_bad_project_bodies_name_the_field(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str, body: dict[str, object], path: str
) -> None:
    response = await client.post("/api/v1/projects", json=body, headers=bearer(session_token(unique_user)))
    assert response.status_code == 422
    assert path in {e["path"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    "bad_id", ["prj_short", "PRJ_" + "a" * 20, "prj_" + "a" * 19 + "'", "x" * 300, "prj_%27or%271"]
)
async def test_malformed_ids_are_refused_before_storage(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str, bad_id: str
) -> None:
    response = await client.get(f"/api/v1/projects/{bad_id}", headers=bearer(session_token(unique_user)))
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "path.project"


class TestRoles:
    """Viewer reads, member runs, admin manages keys and settings, owner deletes."""

    @pytest.fixture
    def org(self) -> str:
        return "org_" + uuid.uuid4().hex[:12]

    async def test_roles(self, client: httpx.AsyncClient, session_token: TokenFactory, org: str) -> None:
        def as_role(role: str) -> dict[str, str]:
            return bearer(session_token(f"user_{role}_{org}", org=org, role=f"org:{role}"))

        owner, manager, member, viewer = as_role("admin"), as_role("manager"), as_role("member"), as_role("viewer")
        project = await create_project(client, owner)
        base = f"/api/v1/projects/{project['id']}"

        # Everyone in the organization reads.
        for headers in (manager, member, viewer):
            assert (await client.get(base, headers=headers)).status_code == 200
        # Only admins (and owners) create projects, rename and manage keys.
        assert (await client.post("/api/v1/projects", json={"name": "m"}, headers=member)).status_code == 403
        assert (await client.patch(base, json={"name": "v"}, headers=viewer)).status_code == 403
        key_body = {"name": "k", "scopes": ["runs:read"]}
        assert (await client.post(f"{base}/api-keys", json=key_body, headers=member)).status_code == 403
        assert (await client.post(f"{base}/api-keys", json=key_body, headers=manager)).status_code == 201
        assert (await client.get(f"{base}/audit", headers=member)).status_code == 403
        # Only owners delete.
        assert (await client.delete(base, headers=manager)).status_code == 403
        assert (await client.delete(base, headers=owner)).status_code == 204
