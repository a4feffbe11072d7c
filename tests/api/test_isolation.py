"""Tenant A cannot read, list, change or delete anything of tenant B: every route, by guessed ids.

The table below must list every route of the API: `test_every_route_is_in_the_table` fails when
a route is added without an isolation case.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from shared.services import Services
from tests.conftest import TokenFactory
from tests.routing.seed import SeedTarget, seed_run
from tests.support.api import bearer, create_key, create_project, sandbox_run_body

# (method, path template, body). Placeholders are filled with the *other* tenant's ids.
PROJECT_ROUTES: list[tuple[str, str, dict[str, Any] | str | None]] = [
    ("GET", "/api/v1/projects/{project}", None),
    ("PATCH", "/api/v1/projects/{project}", {"name": "taken over"}),
    ("DELETE", "/api/v1/projects/{project}", None),
    ("GET", "/api/v1/projects/{project}/api-keys", None),
    ("POST", "/api/v1/projects/{project}/api-keys", {"name": "k", "scopes": ["admin"]}),
    ("GET", "/api/v1/projects/{project}/api-keys/{key}", None),
    ("DELETE", "/api/v1/projects/{project}/api-keys/{key}", None),
    ("GET", "/api/v1/projects/{project}/audit", None),
    ("GET", "/api/v1/projects/{project}/suites", None),
    ("POST", "/api/v1/projects/{project}/suites", {"name": "taken over"}),
    ("GET", "/api/v1/projects/{project}/suites/{suite}", None),
    ("DELETE", "/api/v1/projects/{project}/suites/{suite}", None),
    ("GET", "/api/v1/projects/{project}/suites/{suite}/versions", None),
    (
        "POST",
        "/api/v1/projects/{project}/suites/{suite}/versions",
        {"cases": [{"id": "x", "template": "t", "expected": "e"}]},
    ),
    ("GET", "/api/v1/projects/{project}/suites/{suite}/versions/{version}", None),
    ("GET", "/api/v1/projects/{project}/runs", None),
    ("POST", "/api/v1/projects/{project}/runs", "RUN"),
    ("GET", "/api/v1/projects/{project}/runs/{run}", None),
    ("DELETE", "/api/v1/projects/{project}/runs/{run}", None),
    ("GET", "/api/v1/projects/{project}/runs/{run}/results", None),
    ("GET", "/api/v1/projects/{project}/runs/{run}/summary", None),
    ("GET", "/api/v1/projects/{project}/runs/{run}/compare?a=t00&b=t00", None),
    ("POST", "/api/v1/projects/{project}/runs/{run}/cancel", None),
    ("POST", "/api/v1/projects/{project}/runs/{run}/retry-errors", None),
    ("GET", "/api/v1/projects/{project}/credentials", None),
    ("POST", "/api/v1/projects/{project}/credentials", {"provider": "openai", "name": "x", "key": "sk-attacker-0123"}),
    ("GET", "/api/v1/projects/{project}/credentials/{credential}", None),
    ("DELETE", "/api/v1/projects/{project}/credentials/{credential}", None),
    ("POST", "/api/v1/projects/{project}/credentials/{credential}/rotate", {"key": "sk-attacker-0123"}),
    ("POST", "/api/v1/projects/{project}/credentials/{credential}/validate", None),
    ("GET", "/api/v1/projects/{project}/pricing", None),
    ("PUT", "/api/v1/projects/{project}/pricing", {"models": []}),
    ("GET", "/api/v1/projects/{project}/route-decisions", None),
    ("POST", "/api/v1/projects/{project}/route-decisions", "DECISION"),
    ("GET", "/api/v1/projects/{project}/route-decisions/{decision}", None),
    ("GET", "/api/v1/projects/{project}/routes/{task}", None),
    ("GET", "/api/v1/projects/{project}/drift-events", None),
    ("GET", "/api/v1/projects/{project}/provider-status", None),
    ("GET", "/api/v1/projects/{project}/trends?suite={suite}&metric=pass_rate", None),
    ("POST", "/api/v1/projects/{project}/exports", "EXPORT"),
    ("GET", "/api/v1/projects/{project}/exports/{export}", None),
    ("GET", "/api/v1/projects/{project}/exports/{export}/download", None),
    ("GET", "/api/v1/projects/{project}/schedules", None),
    ("POST", "/api/v1/projects/{project}/schedules", "SCHEDULE"),
    ("GET", "/api/v1/projects/{project}/schedules/{schedule}", None),
    ("PATCH", "/api/v1/projects/{project}/schedules/{schedule}", {"paused": True}),
    ("DELETE", "/api/v1/projects/{project}/schedules/{schedule}", None),
    ("POST", "/api/v1/projects/{project}/imports", {}),
    # The victim's tenant data export, by id (the tenant is always the caller's own).
    ("GET", "/api/v1/tenant/exports/{tenant_export}", None),
    ("GET", "/api/v1/tenant/exports/{tenant_export}/download", None),
]
# Routes without a tenant's resource in the path; their isolation is checked by what they list.
UNSCOPED_ROUTES = {
    ("GET", "/api/health"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/projects"),
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/pricing"),
    ("GET", "/api/v1/intelligence"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/activation"),
    # The caller's own tenant; deleting asks for its id (another tenant's is refused, tests/lifecycle).
    ("DELETE", "/api/v1/tenant"),
    ("POST", "/api/v1/tenant/exports"),
}


def test_every_route_is_in_the_table(api: FastAPI) -> None:
    declared = {(m, p.split("?")[0]) for m, p, _ in PROJECT_ROUTES} | UNSCOPED_ROUTES
    for route in api.routes:
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                assert (method, route.path) in declared, f"add {method} {route.path} to the isolation table"


@pytest.fixture
async def victim(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory, unique_user: str
) -> dict[str, Any]:
    """Tenant B: a project, a key, an audit trail, and a route decision."""
    headers = bearer(session_token(unique_user))
    project = await create_project(client, headers, "victim")
    key = await create_key(client, headers, project["id"], ["admin"])
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project['id']}"
    run_body = await sandbox_run_body(client, headers, project["id"], "victim suite")
    run = await client.post(f"{base}/runs", json=run_body, headers=headers)
    assert run.status_code == 202, run.text
    credential_body = {"provider": "openai", "name": "victim", "key": "sk-victim-0123456789"}
    credential = (await client.post(f"{base}/credentials", json=credential_body, headers=headers)).json()
    evidence = seed_run(services, tenant, project["id"], [SeedTarget("sandbox", "sandbox/fast-accurate", passes=90)])
    decision_body = {"task": "victim-task", "evidence": {"runs": [evidence.row_key]}}
    decision = await client.post(f"{base}/route-decisions", json=decision_body, headers=headers)
    assert decision.status_code == 201, decision.text
    export = await client.post(f"{base}/exports", json={"kind": "run", "id": run.json()["id"]}, headers=headers)
    assert export.status_code == 202, export.text
    tenant_export = await client.post("/api/v1/tenant/exports", headers=headers)
    assert tenant_export.status_code == 202, tenant_export.text
    schedule_body = {**run_body, "budget_usd": "1.00", "cron": "0 30 2 * * *"}
    schedule = await client.post(f"{base}/schedules", json=schedule_body, headers=headers)
    assert schedule.status_code == 201, schedule.text
    return {
        "headers": headers,
        "tenant": tenant,
        "project": project["id"],
        "key": key["id"],
        "raw_key": key["key"],
        "suite": run_body["suite_id"],
        "version": run_body["version"],
        "run": run.json()["id"],
        "run_body": run_body,
        "credential": credential["id"],
        "decision": decision.json()["id"],
        "decision_body": decision_body,
        "task": "victim-task",
        "export": export.json()["id"],
        "export_body": {"kind": "run", "id": run.json()["id"]},
        "tenant_export": tenant_export.json()["id"],
        "schedule": schedule.json()["id"],
        "schedule_body": schedule_body,
    }


@pytest.fixture
async def attackers(client: httpx.AsyncClient, session_token: TokenFactory) -> dict[str, dict[str, str]]:
    """Tenant A as a person (owner of its own tenant) and as an admin API key of its own project."""
    person = bearer(session_token("user_attacker_" + secrets.token_hex(6)))
    project = await create_project(client, person, "attacker")
    key = await create_key(client, person, project["id"], ["admin", "runs:read", "runs:write"])
    return {"person": person, "api key": bearer(key["key"])}


@pytest.mark.parametrize(("method", "template", "body"), PROJECT_ROUTES)
async def test_other_tenants_resources_answer_404(
    client: httpx.AsyncClient,
    victim: dict[str, Any],
    attackers: dict[str, dict[str, str]],
    method: str,
    template: str,
    body: dict[str, Any] | str | None,
) -> None:
    path = template.format(
        project=victim["project"],
        key=victim["key"],
        suite=victim["suite"],
        version=victim["version"],
        run=victim["run"],
        credential=victim["credential"],
        decision=victim["decision"],
        task=victim["task"],
        export=victim["export"],
        tenant_export=victim["tenant_export"],
        schedule=victim["schedule"],
    )
    if body == "RUN":
        body = victim["run_body"]
    if body == "DECISION":
        body = victim["decision_body"]
    if body == "EXPORT":
        body = victim["export_body"]
    if body == "SCHEDULE":
        body = victim["schedule_body"]
    for who, headers in attackers.items():
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, f"{who}: {method} {path} -> {response.status_code}"
        assert response.json()["type"] == "urn:tokenroute:problem:not-found"
    # Nothing changed for the victim.
    project = await client.get(f"/api/v1/projects/{victim['project']}", headers=victim["headers"])
    assert project.json()["name"] == "victim"
    assert (
        await client.get(f"/api/v1/projects/{victim['project']}", headers=bearer(victim["raw_key"]))
    ).status_code == 200
    keys = await client.get(f"/api/v1/projects/{victim['project']}/api-keys", headers=victim["headers"])
    assert len(keys.json()["items"]) == 1
    base = f"/api/v1/projects/{victim['project']}"
    run = (await client.get(f"{base}/runs/{victim['run']}", headers=victim["headers"])).json()
    assert run["cancel_requested_at"] is None
    # The queued run and the finished run the route decision rests on.
    assert len((await client.get(f"{base}/runs", headers=victim["headers"])).json()["items"]) == 2
    assert len((await client.get(f"{base}/suites", headers=victim["headers"])).json()["items"]) == 1
    credential = (await client.get(f"{base}/credentials/{victim['credential']}", headers=victim["headers"])).json()
    assert (credential["fingerprint"], credential["validation_requested_at"]) == ("…6789", None)
    route = (await client.get(f"{base}/routes/{victim['task']}", headers=victim["headers"])).json()
    assert route["decision_id"] == victim["decision"]
    schedule = await client.get(f"{base}/schedules/{victim['schedule']}", headers=victim["headers"])
    assert (schedule.status_code, schedule.json()["paused"]) == (200, False)


async def test_lists_never_show_other_tenants(
    client: httpx.AsyncClient, victim: dict[str, Any], attackers: dict[str, dict[str, str]]
) -> None:
    for headers in attackers.values():
        listed = (await client.get("/api/v1/projects", headers=headers, params={"limit": "200"})).json()["items"]
        assert victim["project"] not in {p["id"] for p in listed}
        me = (await client.get("/api/v1/me", headers=headers)).json()
        assert me["tenant_id"] != victim["tenant"]
        assert victim["tenant"] not in {t["tenant_id"] for t in me["tenants"]}
