"""Schedules through the API: create, list, change, pause, delete; validation; audit; isolation; cascade."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.lifecycle.messages import DeletionMessage
from shared.schedules.models import FiringStatus
from shared.services import Services
from tests.conftest import MovableClock, TokenFactory
from tests.support.api import bearer, create_key, create_project

SUITE = {"cases": [{"id": "a", "template": "2+2?", "expected": "4"}, {"id": "b", "template": "3*3?", "expected": "9"}]}
SANDBOX = {"provider": "sandbox", "model": "sandbox/fast-accurate"}


@pytest.fixture
async def owner(client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str) -> dict[str, Any]:
    """A person, their tenant, a project with a suite version, and a valid schedule body for it."""
    headers = bearer(session_token(unique_user))
    project = await create_project(client, headers, "schedules")
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project['id']}"
    suite = (await client.post(f"{base}/suites", json={"name": "arith"}, headers=headers)).json()
    version = (await client.post(f"{base}/suites/{suite['id']}/versions", json=SUITE, headers=headers)).json()
    body = {
        "name": "nightly",
        "suite_id": suite["id"],
        "version": version["version"],
        "targets": [SANDBOX],
        "budget_usd": "5.00",
        "cron": "0 30 2 * * *",
    }
    return {"headers": headers, "tenant": tenant, "project": project["id"], "base": base, "body": body}


async def create(client: httpx.AsyncClient, owner: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Create a schedule (asserting 201) and return it."""
    response = await client.post(
        f"{owner['base']}/schedules", json={**owner["body"], **changes}, headers=owner["headers"]
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_list_get_change_pause_delete(
    client: httpx.AsyncClient, owner: dict[str, Any], clock: MovableClock
) -> None:
    created = await create(client, owner)
    assert created["id"].startswith("sch_")
    assert (created["cron"], created["budget_usd"], created["paused"]) == ("0 30 2 * * *", "5.00", False)
    due = datetime.fromisoformat(created["next_due_at"])
    assert (due.hour, due.minute, due.second) == (2, 30, 0)
    assert clock.current < due <= clock.current + timedelta(days=1)
    assert (created["last_run_id"], created["last_outcome"]) == (None, None)

    url = f"{owner['base']}/schedules/{created['id']}"
    listed = (await client.get(f"{owner['base']}/schedules", headers=owner["headers"])).json()
    assert [s["id"] for s in listed["items"]] == [created["id"]]
    assert (await client.get(url, headers=owner["headers"])).json() == created

    retimed = await client.patch(url, json={"cron": "0 6 * * 1-5", "budget_usd": "8"}, headers=owner["headers"])
    assert retimed.status_code == 200, retimed.text
    assert (retimed.json()["cron"], retimed.json()["budget_usd"]) == ("0 6 * * 1-5", "8")
    assert datetime.fromisoformat(retimed.json()["next_due_at"]).hour == 6

    paused = (await client.patch(url, json={"paused": True}, headers=owner["headers"])).json()
    assert (paused["paused"], paused["next_due_at"]) == (True, None)
    resumed = (await client.patch(url, json={"paused": False}, headers=owner["headers"])).json()
    assert resumed["paused"] is False
    assert datetime.fromisoformat(resumed["next_due_at"]) > clock.current

    assert (await client.delete(url, headers=owner["headers"])).status_code == 204
    assert (await client.get(url, headers=owner["headers"])).status_code == 404
    assert (await client.delete(url, headers=owner["headers"])).status_code == 404

    audit = (await client.get(f"{owner['base']}/audit", headers=owner["headers"])).json()["items"]
    ours = [(e["action"], e["details"]) for e in audit if e["target_type"] == "schedule"]
    assert ours == [
        ("schedule.deleted", {"name": "nightly"}),
        ("schedule.updated", {"changed": ["paused"]}),
        ("schedule.updated", {"changed": ["paused"]}),
        ("schedule.updated", {"changed": ["budget_usd", "cron"]}),
        (
            "schedule.created",
            {"name": "nightly", "suite_id": owner["body"]["suite_id"], "cron": "0 30 2 * * *", "budget_usd": "5.00"},
        ),
    ]


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"cron": "*/5 * * * *"}, "body.cron", "at most every 15 minutes"),
        ({"cron": "0 0 30 2 *"}, "body.cron", "no occurrence"),
        ({"cron": "0 61 * * * *"}, "body.cron", "minute value 61 is outside 0-59"),
        ({"budget_usd": None}, "body.budget_usd", "input should be"),
        ({"budget_usd": "0"}, "body.budget_usd", "greater than 0"),
        ({"surprise": 1}, "body.surprise", "Extra inputs are not permitted"),
        ({"targets": [{"provider": "openai", "model": "gpt-4o-mini"}]}, "body.targets[0].credential_id", "required"),
        ({"trials": 0}, "body.trials", "greater than or equal to 1"),
    ],
)
async def test_invalid_schedules_are_refused_with_the_field(
    client: httpx.AsyncClient, owner: dict[str, Any], changes: dict[str, Any], path: str, message: str
) -> None:
    body = {**owner["body"], **changes}
    response = await client.post(f"{owner['base']}/schedules", json=body, headers=owner["headers"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert path in errors, errors
    assert message in errors[path]
    listed = (await client.get(f"{owner['base']}/schedules", headers=owner["headers"])).json()
    assert listed["items"] == []


async def test_a_missing_budget_is_a_missing_field(client: httpx.AsyncClient, owner: dict[str, Any]) -> None:
    body = {k: v for k, v in owner["body"].items() if k != "budget_usd"}
    response = await client.post(f"{owner['base']}/schedules", json=body, headers=owner["headers"])
    assert response.status_code == 422
    assert [(e["path"], e["type"]) for e in response.json()["errors"]] == [("body.budget_usd", "missing")]


async def test_the_run_is_checked_like_post_runs(client: httpx.AsyncClient, owner: dict[str, Any]) -> None:
    over = await client.post(
        f"{owner['base']}/schedules", json={**owner["body"], "budget_usd": "0.000001"}, headers=owner["headers"]
    )
    assert over.status_code == 422, over.text
    assert over.json()["type"] == "urn:tokenroute:problem:budget-exceeded"
    assert Decimal(over.json()["estimate"]["total_usd"]) > Decimal("0.000001")
    missing = await client.post(
        f"{owner['base']}/schedules", json={**owner["body"], "version": "f" * 64}, headers=owner["headers"]
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["path"] == "body.version"

    created = await create(client, owner)
    url = f"{owner['base']}/schedules/{created['id']}"
    cheap = await client.patch(url, json={"budget_usd": "0.000001"}, headers=owner["headers"])
    assert cheap.status_code == 422
    assert cheap.json()["type"] == "urn:tokenroute:problem:budget-exceeded"
    too_often = await client.patch(url, json={"cron": "0 */5 * * * *"}, headers=owner["headers"])
    assert too_often.status_code == 422
    assert too_often.json()["errors"][0]["path"] == "body.cron"
    nothing = await client.patch(url, json={}, headers=owner["headers"])
    assert nothing.status_code == 422
    assert (await client.get(url, headers=owner["headers"])).json() == created


async def test_viewers_read_members_write_and_other_tenants_see_404(
    client: httpx.AsyncClient, session_token: TokenFactory, owner: dict[str, Any]
) -> None:
    org = "org_" + uuid.uuid4().hex[:12]
    admin = bearer(session_token(f"user_admin_{org}", org=org, role="org:admin"))
    member = bearer(session_token(f"user_member_{org}", org=org, role="org:member"))
    viewer = bearer(session_token(f"user_viewer_{org}", org=org, role="org:viewer"))
    project = await create_project(client, admin)
    base = f"/api/v1/projects/{project['id']}"
    suite = (await client.post(f"{base}/suites", json={"name": "s"}, headers=member)).json()
    version = (await client.post(f"{base}/suites/{suite['id']}/versions", json=SUITE, headers=member)).json()
    body = {**owner["body"], "suite_id": suite["id"], "version": version["version"]}
    reader = await create_key(client, admin, project["id"], ["runs:read"])

    assert (await client.post(f"{base}/schedules", json=body, headers=viewer)).status_code == 403
    assert (await client.post(f"{base}/schedules", json=body, headers=bearer(reader["key"]))).status_code == 403
    created = await client.post(f"{base}/schedules", json=body, headers=member)
    assert created.status_code == 201, created.text
    url = f"{base}/schedules/{created.json()['id']}"
    assert (await client.get(url, headers=viewer)).status_code == 200
    assert (await client.get(url, headers=bearer(reader["key"]))).status_code == 200
    assert (await client.patch(url, json={"paused": True}, headers=viewer)).status_code == 403

    # The owner fixture's tenant: another tenant's schedule is not found, by any route.
    foreign = owner["headers"]
    own_url = f"{owner['base']}/schedules/{created.json()['id']}"
    for method, json_body in (("GET", None), ("PATCH", {"paused": True}), ("DELETE", None)):
        response = await client.request(method, own_url, json=json_body, headers=foreign)
        assert response.status_code == 404, (method, response.text)
    assert (await client.get(url, headers=member)).json()["paused"] is False


async def test_a_fired_schedule_shows_its_run_and_the_run_shows_its_schedule(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, owner: dict[str, Any]
) -> None:
    created = await create(client, owner)
    clock.current = datetime.fromisoformat(created["next_due_at"]) + timedelta(seconds=3)
    await asyncio.to_thread(services.schedule_firer.fire_due)

    schedule = (await client.get(f"{owner['base']}/schedules/{created['id']}", headers=owner["headers"])).json()
    assert schedule["last_outcome"] == FiringStatus.STARTED.value
    assert schedule["last_fired_at"] == created["next_due_at"]
    run = (await client.get(f"{owner['base']}/runs/{schedule['last_run_id']}", headers=owner["headers"])).json()
    assert (run["schedule_id"], run["created_by"], run["budget_usd"]) == (created["id"], created["id"], "5.00")


async def test_deleting_the_suite_deletes_its_schedules(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, owner: dict[str, Any]
) -> None:
    kept_suite = (await client.post(f"{owner['base']}/suites", json={"name": "kept"}, headers=owner["headers"])).json()
    kept_version = (
        await client.post(f"{owner['base']}/suites/{kept_suite['id']}/versions", json=SUITE, headers=owner["headers"])
    ).json()
    doomed = await create(client, owner)
    kept = await create(client, owner, suite_id=kept_suite["id"], version=kept_version["version"])
    clock.current = datetime.fromisoformat(doomed["next_due_at"]) + timedelta(seconds=3)
    await asyncio.to_thread(services.schedule_firer.fire_due)
    assert len(services.schedules.firings_of(owner["tenant"], owner["project"], doomed["id"])) == 1

    suite_url = f"{owner['base']}/suites/{owner['body']['suite_id']}"
    assert (await client.delete(suite_url, headers=owner["headers"])).status_code == 204
    message = DeletionMessage(
        tenant_id=owner["tenant"], project_id=owner["project"], kind="suite", resource_id=owner["body"]["suite_id"]
    )
    for _ in range(2):  # a duplicate delivery changes nothing
        tombstone = await asyncio.to_thread(services.purger.handle, message)
    assert tombstone is not None
    assert tombstone.counts["table:schedules"] == 1

    listed = (await client.get(f"{owner['base']}/schedules", headers=owner["headers"])).json()["items"]
    assert [s["id"] for s in listed] == [kept["id"]]
    assert services.schedules.firings_of(owner["tenant"], owner["project"], doomed["id"]) == []
    assert len(services.schedules.firings_of(owner["tenant"], owner["project"], kept["id"])) == 1
