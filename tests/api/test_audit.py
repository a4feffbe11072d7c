"""The audit trail records who did what to keys and projects, from where, newest first."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory
from tests.support.api import bearer, create_key, create_project


async def test_actions_are_audited_newest_first(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner, "audited")
    base = f"/api/v1/projects/{project['id']}"
    key = await create_key(client, owner, project["id"], ["runs:read"], name="ci")
    await client.patch(base, json={"name": "audited 2"}, headers=owner)
    origin = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "User-Agent": "tokenroute-tests/1.0"}
    await client.delete(f"{base}/api-keys/{key['id']}", headers={**owner, **origin})

    entries = (await client.get(f"{base}/audit", headers=owner)).json()["items"]
    assert [e["action"] for e in entries] == [
        "api_key.revoked",
        "project.renamed",
        "api_key.created",
        "project.created",
    ]
    revoked = entries[0]
    assert revoked["actor_kind"] == "user"
    assert revoked["actor_id"] == unique_user
    assert revoked["target_id"] == key["id"]
    assert revoked["source_ip"] == "203.0.113.7"
    assert revoked["user_agent"] == "tokenroute-tests/1.0"
    assert entries[1]["details"] == {"from": "audited", "to": "audited 2"}
    assert key["key"] not in str(entries)

    first_page = (await client.get(f"{base}/audit", headers=owner, params={"limit": "3"})).json()
    second_page = (
        await client.get(f"{base}/audit", headers=owner, params={"limit": "3", "cursor": first_page["next_cursor"]})
    ).json()
    assert [e["action"] for e in first_page["items"] + second_page["items"]] == [e["action"] for e in entries]
    assert second_page["next_cursor"] is None


async def test_revoking_twice_is_audited_once(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner)
    key = await create_key(client, owner, project["id"], ["runs:read"])
    path = f"/api/v1/projects/{project['id']}/api-keys/{key['id']}"
    assert (await client.delete(path, headers=owner)).status_code == 204
    assert (await client.delete(path, headers=owner)).status_code == 204
    entries = (await client.get(f"/api/v1/projects/{project['id']}/audit", headers=owner)).json()["items"]
    assert [e["action"] for e in entries].count("api_key.revoked") == 1
