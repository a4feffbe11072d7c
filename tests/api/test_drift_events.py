"""Drift through the API: events listed newest first, and the routes resting on drifted evidence go stale."""

from __future__ import annotations

from typing import Any

import httpx

from shared.ids import new_id
from shared.services import Services
from tests.conftest import MovableClock, TokenFactory
from tests.routing.seed import SeedTarget, seed_run
from tests.support.api import bearer, create_key, create_project
from tests.trends.drift_seed import daily_runs, roll_up

MODEL = "gpt-4o-mini"


async def _decide(client: httpx.AsyncClient, base: str, headers: dict[str, str], task: str, runs: list[str]) -> str:
    body = {"task": task, "evidence": {"runs": runs}}
    response = await client.post(f"{base}/route-decisions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    decision: dict[str, Any] = response.json()
    assert (decision["stale"], decision["stale_reason"], decision["drift_event_id"]) == (False, None, None)
    return str(decision["id"])


async def test_a_quality_drop_makes_the_route_built_on_it_stale(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, session_token: TokenFactory, unique_user: str
) -> None:
    headers = bearer(session_token(unique_user))
    project = (await create_project(client, headers))["id"]
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project}"
    suite, other_suite = new_id("ste"), new_id("ste")
    days = [
        [SeedTarget("openai", MODEL, passes=p), SeedTarget("anthropic", "claude-3-5-haiku", passes=p)]
        for p in (90, 92, 88)
    ]
    baseline = daily_runs(services, clock, tenant, project, suite, days)
    elsewhere = daily_runs(services, clock, tenant, project, other_suite, days[:1])
    triage = await _decide(client, base, headers, "triage", [run.row_key for run in baseline])
    unrelated = await _decide(client, base, headers, "unrelated", [elsewhere[0].row_key])
    assert (await client.get(f"{base}/drift-events", headers=headers)).json() == {"items": [], "next_cursor": None}

    # OpenAI's quality drops on the suite triage rests on; Anthropic holds steady.
    drop = [SeedTarget("openai", MODEL, passes=40), SeedTarget("anthropic", "claude-3-5-haiku", passes=90)]
    dropped = seed_run(services, tenant, project, drop, suite_id=suite)
    roll_up(services, clock, tenant, project, dropped)

    listed = (await client.get(f"{base}/drift-events", headers=headers)).json()
    assert {(e["kind"], e["metric"], e["provider"], e["run_id"]) for e in listed["items"]} == {
        ("quality_down", "quality", "openai", dropped.row_key),
        ("quality_down", "pass_rate", "openai", dropped.row_key),
    }
    pass_rate = next(e for e in listed["items"] if e["metric"] == "pass_rate")
    assert pass_rate["baseline"]["n"] == 300
    assert pass_rate["new"]["high"] < pass_rate["baseline"]["low"]

    route = (await client.get(f"{base}/routes/triage", headers=headers)).json()
    assert (route["decision_id"], route["stale"], route["stale_reason"]) == (triage, True, "drift")
    assert route["drift_event_id"] in {e["id"] for e in listed["items"]}
    decision = (await client.get(f"{base}/route-decisions/{triage}", headers=headers)).json()
    assert (decision["stale"], decision["stale_reason"], decision["drift_event_id"]) == (
        True,
        "drift",
        route["drift_event_id"],
    )
    # A route on another suite's evidence is untouched.
    other = (await client.get(f"{base}/routes/unrelated", headers=headers)).json()
    assert (other["decision_id"], other["stale"], other["drift_event_id"]) == (unrelated, False, None)

    # Rolled up again: no new event, and the route keeps the event that first hit it.
    roll_up(services, clock, tenant, project, dropped)
    again = (await client.get(f"{base}/drift-events", headers=headers)).json()
    assert [e["id"] for e in again["items"]] == [e["id"] for e in listed["items"]]
    still = (await client.get(f"{base}/routes/triage", headers=headers)).json()
    assert still["drift_event_id"] == route["drift_event_id"]

    # Deciding again replaces the current route, which clears the mark.
    fresh = await _decide(client, base, headers, "triage", [run.row_key for run in [*baseline, dropped]])
    route = (await client.get(f"{base}/routes/triage", headers=headers)).json()
    assert (route["decision_id"], route["stale"], route["stale_reason"], route["drift_event_id"]) == (
        fresh,
        False,
        None,
        None,
    )


async def test_events_are_paged_newest_first_and_filtered(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, session_token: TokenFactory, unique_user: str
) -> None:
    headers = bearer(session_token(unique_user))
    project = (await create_project(client, headers))["id"]
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project}"
    suite = new_id("ste")
    days = [[SeedTarget("openai", MODEL, passes=p)] for p in (90, 92, 88)]
    daily_runs(services, clock, tenant, project, suite, days)
    down = seed_run(services, tenant, project, [SeedTarget("openai", MODEL, passes=40)], suite_id=suite)
    roll_up(services, clock, tenant, project, down)
    up = seed_run(services, tenant, project, [SeedTarget("openai", MODEL, passes=100)], suite_id=suite)
    roll_up(services, clock, tenant, project, up)

    # A read-only key (runs:read) sees them too; paging one at a time gives the newest run first.
    key = await create_key(client, headers, project, ["runs:read"])
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{base}/drift-events", params=params, headers=bearer(key["key"]))).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(e["run_id"], e["kind"]) for e in seen][:2] == [(up.row_key, "quality_up")] * 2
    assert [(e["run_id"], e["kind"]) for e in seen][2:] == [(down.row_key, "quality_down")] * 2

    kinds = await client.get(f"{base}/drift-events", params={"kind": "quality_down"}, headers=headers)
    assert {e["run_id"] for e in kinds.json()["items"]} == {down.row_key}
    suites = await client.get(f"{base}/drift-events", params={"suite": new_id("ste")}, headers=headers)
    assert suites.json()["items"] == []
    both = await client.get(f"{base}/drift-events", params={"suite": suite, "kind": "quality_up"}, headers=headers)
    assert {e["run_id"] for e in both.json()["items"]} == {up.row_key}
    bad = await client.get(f"{base}/drift-events", params={"kind": "sideways"}, headers=headers)
    assert bad.status_code == 422
    routes_only = await create_key(client, headers, project, ["routes:read"])
    forbidden = await client.get(f"{base}/drift-events", headers=bearer(routes_only["key"]))
    assert forbidden.status_code == 403
