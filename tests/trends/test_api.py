"""`GET /api/v1/projects/{project}/trends`: series from the rollups, the range and metric checks, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.ids import new_id
from shared.services import Services
from shared.trends.aggregate import METRICS
from shared.trends.models import target_key
from tests.conftest import MovableClock, TokenFactory
from tests.support.api import bearer, create_key, create_project
from tests.trends.seed import Item, seed_finished_run
from tests.trends.test_rollup import FAST, SLOW, day, items, settle


@pytest.fixture
async def seeded(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, session_token: TokenFactory, unique_user: str
) -> dict[str, Any]:
    """A project with two runs on two days (FAST both days, SLOW on the second), rolled up."""
    headers = bearer(session_token(unique_user))
    project = (await create_project(client, headers, "trends"))["id"]
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    suite = new_id("ste")
    seed_finished_run(services, tenant, project, suite, {0: items(day(2), [1.0, 1.0, 0.0, 1.0])}, targets=[FAST])
    seed_finished_run(
        services,
        tenant,
        project,
        suite,
        {0: items(day(1), [1.0, 0.0]), 1: [(day(1, 14), Item(score=0.5, passed=False, cost_usd=None))]},
        targets=[FAST, SLOW],
    )
    settle(clock)
    services.rollup.run_project(tenant, project)
    return {"headers": headers, "base": f"/api/v1/projects/{project}/trends", "suite": suite, "project": project}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_daily_series_per_target_with_intervals(client: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    params = {"suite": seeded["suite"], "metric": "pass_rate", "from": iso(day(5, 0)), "to": iso(day(0, 0))}
    response = await client.get(seeded["base"], params=params, headers=seeded["headers"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["metric"], body["granularity"], body["suite_id"]) == ("pass_rate", "day", seeded["suite"])
    fast, slow = sorted(body["series"], key=lambda s: s["target_key"] != target_key(FAST))
    assert (fast["target_key"], fast["provider"], fast["model"]) == (
        target_key(FAST),
        "sandbox",
        "sandbox/fast-accurate",
    )
    assert [(p["start"], p["value"], p["n"], p["runs"]) for p in fast["points"]] == [
        (iso(day(2, 0).replace(minute=0)), 0.75, 4, 1),
        (iso(day(1, 0).replace(minute=0)), 0.5, 2, 1),
    ]
    for point in fast["points"]:
        assert 0 <= point["low"] <= point["value"] <= point["high"] <= 1
    assert [(p["value"], p["n"]) for p in slow["points"]] == [(0.0, 1)]

    # One target, hourly; and a metric the slow target has no data for (it was not priced).
    one = await client.get(
        seeded["base"],
        params={**params, "target": target_key(SLOW), "granularity": "hour", "from": iso(day(2, 0))},
        headers=seeded["headers"],
    )
    assert [(s["target_key"], [p["start"] for p in s["points"]]) for s in one.json()["series"]] == [
        (target_key(SLOW), [iso(day(1, 14).replace(minute=0))])
    ]
    cost = await client.get(seeded["base"], params={**params, "metric": "cost_per_case"}, headers=seeded["headers"])
    by_key = {s["target_key"]: s["points"] for s in cost.json()["series"]}
    assert [p["value"] for p in by_key[target_key(FAST)]] == [pytest.approx(0.001)] * 2
    assert by_key[target_key(SLOW)] == []  # unpriced: no value, never a cost of 0


async def test_an_unknown_suite_answers_no_series(client: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    response = await client.get(
        seeded["base"], params={"suite": new_id("ste"), "metric": "quality"}, headers=seeded["headers"]
    )
    assert response.status_code == 200
    assert response.json()["series"] == []


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"metric": "speed"}, "query.metric"),
        ({"metric": "quality", "from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "query.from"),
        (
            {"metric": "quality", "granularity": "hour", "from": "2026-10-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
            "query.from",
        ),
        ({"metric": "quality", "from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "query.from"),
        ({"metric": "quality", "granularity": "week"}, "query.granularity"),
        ({"metric": "quality", "target": "sandbox/fast"}, "query.target"),
        ({"metric": "quality", "suite": "ste_x"}, "query.suite"),
    ],
)
async def test_invalid_queries_answer_422_naming_the_field(
    client: httpx.AsyncClient, seeded: dict[str, Any], params: dict[str, str], path: str
) -> None:
    response = await client.get(seeded["base"], params={"suite": seeded["suite"], **params}, headers=seeded["headers"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == [path]
    if path == "query.metric":
        assert all(name in errors[0]["message"] for name in METRICS)


async def test_a_key_needs_runs_read(client: httpx.AsyncClient, seeded: dict[str, Any]) -> None:
    params = {"suite": seeded["suite"], "metric": "quality", "from": iso(day(5, 0))}
    exports_only = await create_key(client, seeded["headers"], seeded["project"], ["exports:read"])
    refused = await client.get(seeded["base"], params=params, headers=bearer(exports_only["key"]))
    assert refused.status_code == 403
    reader = await create_key(client, seeded["headers"], seeded["project"], ["runs:read"])
    allowed = await client.get(seeded["base"], params=params, headers=bearer(reader["key"]))
    assert allowed.status_code == 200
    assert len(allowed.json()["series"]) == 2


async def test_default_range_is_the_last_30_days(
    client: httpx.AsyncClient, seeded: dict[str, Any], clock: MovableClock
) -> None:
    params = {"suite": seeded["suite"], "metric": "quality"}
    recent = (await client.get(seeded["base"], params=params, headers=seeded["headers"])).json()
    assert datetime.fromisoformat(recent["to"]) - datetime.fromisoformat(recent["from"]) == timedelta(days=30)
    assert len(recent["series"]) == 2
    clock.advance(timedelta(days=40))
    later = (await client.get(seeded["base"], params=params, headers=seeded["headers"])).json()
    assert datetime.fromisoformat(later["to"]) > datetime.now(UTC) + timedelta(days=39)
    assert later["series"] == []
