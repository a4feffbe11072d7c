"""The project's data settings: aggregate opt-in off by default, every change audited; admins only."""

from __future__ import annotations

import httpx

from shared.services import Services
from tests.support.api import create_project


async def test_aggregate_opt_in_is_off_by_default_and_every_change_is_audited(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str]
) -> None:
    project = await create_project(client, owner, "opt-in")
    assert project["aggregate_opt_in"] is False
    assert project["retention_days"] is None
    url = f"/api/v1/projects/{project['id']}"
    for value in (True, True, False):
        response = await client.patch(url, json={"aggregate_opt_in": value}, headers=owner)
        assert response.status_code == 200
        assert response.json()["aggregate_opt_in"] is value
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]
    entries = services.audit.list(tenant, project["id"], limit=50, cursor=None).items
    changes = [entry.details for entry in entries if entry.action == "settings.aggregate_opt_in_changed"]
    # Newest first; the repeated True changed nothing and is not an entry.
    assert changes == [{"from": True, "to": False}, {"from": False, "to": True}]
    assert (await client.get(url, headers=owner)).json()["name"] == "opt-in"


async def test_settings_changes_need_something_to_change(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    project = await create_project(client, owner, "empty")
    url = f"/api/v1/projects/{project['id']}"
    assert (await client.patch(url, json={}, headers=owner)).status_code == 422
    too_long = await client.patch(url, json={"retention_days": 5000}, headers=owner)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["path"] == "body.retention_days"
