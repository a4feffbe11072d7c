"""Frontend events (allowlist, bounded properties) and the activation funnel ("first" recorded once)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.support.api import bearer, create_key, create_project


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "prompt_submitted"}, "body.name"),
        ({"name": "docs_opened", "properties": {f"p{i}": i for i in range(11)}}, "body.properties"),
        ({"name": "docs_opened", "properties": {"page": "x" * 101}}, "body.properties.page"),
        ({"name": "docs_opened", "properties": {"page": {"nested": "object"}}}, "body.properties.page"),
        ({"name": "docs_opened", "properties": {"page": ["a", "list"]}}, "body.properties.page"),
        ({"name": "docs_opened", "properties": {"prompt_text": "what is 2+2"}}, "body.properties"),
        ({"name": "docs_opened", "properties": {"api_key": "x"}}, "body.properties"),
        ({"name": "docs_opened", "properties": {"ref": "sk-live-0123456789"}}, "body.properties"),
        ({"name": "docs_opened", "properties": {"Bad-Name": "x"}}, "body.properties.Bad-Name"),
        ({"name": "docs_opened", "extra": 1}, "body.extra"),
    ],
)
async def test_events_outside_the_schema_are_refused(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str, body: dict[str, Any], path: str
) -> None:
    response = await client.post("/api/v1/events", json=body, headers=bearer(session_token(unique_user)))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:tokenroute:problem:validation"
    assert any(error["path"].startswith(path) for error in problem["errors"]), problem["errors"]


async def test_api_keys_cannot_send_frontend_events(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner)
    key = await create_key(client, owner, project["id"], ["admin"])
    response = await client.post("/api/v1/events", json={"name": "docs_opened"}, headers=bearer(key["key"]))
    assert response.status_code == 403


async def test_activation_first_is_recorded_once(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    owner = bearer(session_token(unique_user))
    first = await client.post(
        "/api/v1/events",
        json={"name": "suite_template_chosen", "properties": {"template": "qa", "step": 2}},
        headers=owner,
    )
    assert first.status_code == 202
    assert first.json() == {"name": "suite_template_chosen", "first": True}
    again = await client.post("/api/v1/events", json={"name": "suite_template_chosen"}, headers=owner)
    assert again.status_code == 202
    assert again.json()["first"] is False

    project = await create_project(client, owner, "one")
    await create_key(client, owner, project["id"], ["runs:read"])
    funnel = (await client.get("/api/v1/activation", headers=owner)).json()
    steps = {step["event"]: step for step in funnel["steps"]}
    assert steps["project_created"]["first_at"] is not None
    assert steps["api_key_created"]["first_at"] is not None
    assert steps["run_started"]["first_at"] is None
    assert steps["suite_template_chosen"]["source"] == "frontend"

    await create_project(client, owner, "two")
    later = {step["event"]: step for step in (await client.get("/api/v1/activation", headers=owner)).json()["steps"]}
    assert later["project_created"]["first_at"] == steps["project_created"]["first_at"]


async def test_the_funnel_is_the_callers_tenant_only_and_for_admins(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    other = bearer(session_token(unique_user + "x"))
    await create_project(client, other, "theirs")
    mine = bearer(session_token(unique_user))
    funnel = (await client.get("/api/v1/activation", headers=mine)).json()
    assert all(step["first_at"] is None for step in funnel["steps"])
    member = bearer(session_token(unique_user + "m", org="org_" + unique_user, role="org:member"))
    assert (await client.get("/api/v1/activation", headers=member)).status_code == 403
