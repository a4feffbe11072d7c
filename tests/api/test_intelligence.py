"""`GET /api/v1/intelligence`: projects opted in through the API, published, and read by any caller."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx

from shared.services import Services
from shared.trends.intelligence import MIN_TENANTS
from tests.conftest import MovableClock, TokenFactory
from tests.routing.seed import SeedTarget, seed_run
from tests.support.api import bearer, create_key, create_project
from tests.trends.drift_seed import roll_up

MODEL = ("gemini", "gemini-2.5-flash")


async def test_published_aggregates_are_read_without_any_tenant_ids(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, session_token: TokenFactory
) -> None:
    people = [f"user_intel_{secrets.token_hex(6)}" for _ in range(MIN_TENANTS)]
    ids: list[str] = []
    keys: list[str] = []
    for index, person in enumerate(people):
        headers = bearer(session_token(person))
        project = (await create_project(client, headers, f"opted in {index}"))["id"]
        opt_in = await client.patch(f"/api/v1/projects/{project}", json={"aggregate_opt_in": True}, headers=headers)
        assert opt_in.status_code == 200, opt_in.text
        tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
        ids += [tenant, project]
        keys.append((await create_key(client, headers, project, ["runs:read"]))["key"])
        run = seed_run(services, tenant, project, [SeedTarget(*MODEL, passes=20, latency_ms=250)], cases=25)
        roll_up(services, clock, tenant, project, run)
    clock.advance(timedelta(days=1))
    services.intelligence.publish()

    response = await client.get("/api/v1/intelligence", headers=bearer(session_token("user_reader_anyone")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["min_tenants"], body["max_tenant_share"]) == (5, 0.5)
    assert body["window_end"] is not None
    [cell] = [m for m in body["models"] if (m["provider"], m["model"]) == MODEL]
    assert (cell["tenants"], cell["samples"]) == (MIN_TENANTS, MIN_TENANTS * 25)
    errors = cell["error_rate"]
    assert (errors["value"], errors["low"], errors["n"]) == (0.0, 0.0, 125)
    assert 0 < errors["high"] < 0.05  # Wilson's upper bound for 0 of 125
    assert 245 <= cell["latency_p95_ms"]["value"] <= 260
    assert "quality" not in cell
    assert "pass_rate" not in cell
    for value in ids:
        assert value not in response.text

    # An API key that may read runs reads it too; one that may only read routes may not.
    assert (await client.get("/api/v1/intelligence", headers=bearer(keys[0]))).status_code == 200
    routes_key = await create_key(client, bearer(session_token(people[0])), ids[1], ["routes:read"])
    denied = await client.get("/api/v1/intelligence", headers=bearer(routes_key["key"]))
    assert denied.status_code == 403
    assert (await client.get("/api/v1/intelligence")).status_code == 401
