"""Route decisions through the API: evidence and provenance, immutability, the current route, expiry."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.runs.models import RunStatus
from shared.services import Services
from tests.conftest import MovableClock, TokenFactory
from tests.routing.seed import SeedTarget, seed_run
from tests.support.api import bearer, create_key, create_project

BIG = SeedTarget("openai", "big", passes=95, cost_usd="0.004")
SMALL = SeedTarget("anthropic", "small", passes=93, cost_usd="0.0005")


@pytest.fixture
async def owner(client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str) -> dict[str, Any]:
    """A person, their tenant and a project."""
    headers = bearer(session_token(unique_user))
    project = await create_project(client, headers, "routing")
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    return {"headers": headers, "tenant": tenant, "project": project["id"], "base": f"/api/v1/projects/{project['id']}"}


def body(runs: list[str], **extra: Any) -> dict[str, Any]:
    return {"task": "triage", "evidence": {"runs": runs}, "objective": "minimize_cost", **extra}


async def test_evidence_resolves_to_exactly_the_stored_runs(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    first = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL], price_version="prices-a")
    second = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL], price_version="prices-b")
    seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])  # not asked for: not evidence
    answer = await client.post(
        f"{owner['base']}/route-decisions",
        json=body([first.row_key, second.row_key], constraints={"min_quality": 0.8}),
        headers=owner["headers"],
    )
    assert answer.status_code == 201, answer.text
    decision = answer.json()["decision"]
    evidence = decision["evidence"]
    assert [r["run_id"] for r in evidence["runs"]] == [first.row_key, second.row_key]
    assert [r["suite_version"] for r in evidence["runs"]] == [first.version, second.version]
    assert evidence["suite_versions"] == sorted([first.version, second.version])
    assert evidence["price_versions"] == ["prices-a", "prices-b"]
    assert evidence["sample_sizes"] == {"openai:big": 200, "anthropic:small": 200}
    assert evidence["model_versions"] == {"openai:big": ["big-0613"], "anthropic:small": ["small-0613"]}
    assert [r["results"] for r in evidence["runs"]] == [200, 200]
    assert evidence["window_start"] == first.created_at.isoformat().replace("+00:00", "Z")
    assert first.finished_at is not None
    assert second.finished_at is not None
    assert evidence["window_end"] == second.finished_at.isoformat().replace("+00:00", "Z")
    # The cheaper model is equal within noise, so it is chosen.
    assert decision["chosen"] == "anthropic:small"
    assert decision["fallbacks"] == ["openai:big"]
    assert "cheapest one" in decision["confidence_statement"]
    stats = {c["stats"]["target"]: c["stats"] for c in decision["candidates"]}
    assert sorted(stats["openai:big"]["runs"]) == sorted([first.row_key, second.row_key])


async def test_a_stored_decision_never_changes(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    run = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    url = f"{owner['base']}/route-decisions"
    old = (await client.post(url, json=body([run.row_key]), headers=owner["headers"])).json()
    blob = services.route_decisions.blobs.get(
        f"{owner['tenant']}/{owner['project']}/triage/{old['content_sha256']}.json"
    )
    assert hashlib.sha256(blob).hexdigest() == old["content_sha256"]
    assert json.loads(blob) == old["decision"]

    new_answer = await client.post(
        url, json=body([run.row_key], objective="maximize_quality", expires_in_days=7), headers=owner["headers"]
    )
    assert new_answer.status_code == 201
    new = new_answer.json()
    assert new["supersedes"] == old["id"]
    assert new["content_sha256"] != old["content_sha256"]

    reread = (await client.get(f"{url}/{old['id']}", headers=owner["headers"])).json()
    assert reread["decision"] == old["decision"]
    assert reread["content_sha256"] == old["content_sha256"]
    assert reread["superseded_by"] == new["id"]
    assert reread["superseded_at"] is not None

    listed = (await client.get(url, params={"task": "triage"}, headers=owner["headers"])).json()["items"]
    assert {d["id"] for d in listed} == {old["id"], new["id"]}

    # Someone rewrites the newer decision's blob in storage: it is refused, not served.
    name = f"{owner['tenant']}/{owner['project']}/triage/{new['content_sha256']}.json"
    forged = json.loads(services.route_decisions.blobs.get(name))
    forged["chosen"] = "openai:big"
    services.route_decisions.blobs.put(name, json.dumps(forged).encode(), overwrite=True)
    tampered = await client.get(f"{url}/{new['id']}", headers=owner["headers"])
    assert tampered.status_code == 500
    assert tampered.json()["type"] == "urn:tokenroute:problem:integrity"


async def test_current_route_and_expiry(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, owner: dict[str, Any]
) -> None:
    run = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    route_url = f"{owner['base']}/routes/triage"
    assert (await client.get(route_url, headers=owner["headers"])).status_code == 404
    created = await client.post(
        f"{owner['base']}/route-decisions", json=body([run.row_key], expires_in_days=30), headers=owner["headers"]
    )
    decision = created.json()
    # A gateway's key with only routes:read.
    key = await create_key(client, owner["headers"], owner["project"], ["routes:read"])
    route = (await client.get(route_url, headers=bearer(key["key"]))).json()
    assert route["decision_id"] == decision["id"]
    assert route["chosen"] == {"target": "anthropic:small", "provider": "anthropic", "model": "small"}
    assert route["fallbacks"] == [{"target": "openai:big", "provider": "openai", "model": "big"}]
    assert (route["stale"], route["stale_reason"]) == (False, None)
    assert route["content_sha256"] == decision["content_sha256"]

    clock.advance(timedelta(days=31))
    expired = (await client.get(route_url, headers=owner["headers"])).json()
    assert (expired["stale"], expired["stale_reason"]) == (True, "expired")
    assert expired["decision_id"] == decision["id"]


async def test_unusable_evidence_is_refused(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    url = f"{owner['base']}/route-decisions"
    running = seed_run(services, owner["tenant"], owner["project"], [BIG], status=RunStatus.RUNNING)
    answer = await client.post(url, json=body([running.row_key]), headers=owner["headers"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "body.evidence.runs[0]"
    missing = await client.post(url, json=body(["run_aaaaaaaaaaaaaaaaaaaa"]), headers=owner["headers"])
    assert missing.status_code == 404
    done = seed_run(services, owner["tenant"], owner["project"], [BIG])
    stranger = body([done.row_key], candidates=[{"provider": "gemini", "model": "nope"}])
    answer = await client.post(url, json=stranger, headers=owner["headers"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "body.candidates[0]"


async def test_too_little_evidence_says_how_many_cases_are_missing(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    thin = seed_run(services, owner["tenant"], owner["project"], [SeedTarget("openai", "thin", passes=17)], cases=20)
    answer = await client.post(
        f"{owner['base']}/route-decisions",
        json=body([thin.row_key], constraints={"min_quality": 0.8}),
        headers=owner["headers"],
    )
    decision = answer.json()["decision"]
    assert decision["status"] == "insufficient_evidence"
    assert decision["chosen"] is None
    assert decision["cases_needed"]["cases_missing"] > 0
    route = (await client.get(f"{owner['base']}/routes/triage", headers=owner["headers"])).json()
    assert (route["status"], route["chosen"]) == ("insufficient_evidence", None)


async def test_a_time_window_selects_the_runs_created_in_it(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], clock: MovableClock
) -> None:
    old = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    clock.advance(timedelta(days=2))
    recent = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    also_recent = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    start = (recent.created_at - timedelta(hours=1)).isoformat()
    end = (also_recent.created_at + timedelta(hours=1)).isoformat()
    in_window: dict[str, Any] = {"window": {"start": start, "end": end}}
    window: dict[str, Any] = {"task": "triage", "objective": "minimize_cost", "evidence": in_window}
    answer = await client.post(f"{owner['base']}/route-decisions", json=window, headers=owner["headers"])
    assert answer.status_code == 201, answer.text
    used = {r["run_id"] for r in answer.json()["decision"]["evidence"]["runs"]}
    assert used == {recent.row_key, also_recent.row_key}
    assert old.row_key not in used

    # Narrowed to one suite.
    one_suite = {**window, "evidence": {**in_window, "suite_id": recent.suite_id}}
    answer = await client.post(f"{owner['base']}/route-decisions", json=one_suite, headers=owner["headers"])
    assert {r["run_id"] for r in answer.json()["decision"]["evidence"]["runs"]} == {recent.row_key}

    # An empty window, and both forms at once, are refused with the field path.
    empty = {**window, "evidence": {"window": {"start": "2001-01-01T00:00:00Z", "end": "2001-01-02T00:00:00Z"}}}
    refused = await client.post(f"{owner['base']}/route-decisions", json=empty, headers=owner["headers"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "body.evidence.window"
    both = {**window, "evidence": {**in_window, "runs": [recent.row_key]}}
    refused = await client.post(f"{owner['base']}/route-decisions", json=both, headers=owner["headers"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"].startswith("body.evidence")


async def test_live_routes_cite_their_evidence_runs_for_retention(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], clock: MovableClock
) -> None:
    cited = seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])
    seed_run(services, owner["tenant"], owner["project"], [BIG, SMALL])  # not evidence
    answer = await client.post(f"{owner['base']}/route-decisions", json=body([cited.row_key]), headers=owner["headers"])
    assert answer.status_code == 201, answer.text
    assert services.route_decisions.cited_runs(owner["tenant"], owner["project"]) == {cited.row_key}
    assert "route_decision_made" in {record.row_key for record in services.activation.funnel(owner["tenant"])}
    # The retention sweep asks the same question.
    assert services.retention.cited(owner["tenant"], owner["project"]) == {cited.row_key}
    clock.advance(timedelta(days=31))  # past the default 30-day expiry: no longer live
    assert services.route_decisions.cited_runs(owner["tenant"], owner["project"]) == set()
