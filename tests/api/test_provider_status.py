"""`GET /api/v1/projects/{project}/provider-status`: windows, status, the window parameter, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.providers.call_counts import CallTally
from shared.providers.errors import ErrorKind
from shared.services import Services
from tests.conftest import MovableClock, TokenFactory
from tests.support.api import bearer, create_key, create_project

# A model name with characters a Table key may not hold.
ODD_MODEL = "accounts/fireworks/models/llama-v3#8b?"


@pytest.fixture
async def owner(client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str) -> dict[str, Any]:
    """A person, their tenant and a project."""
    headers = bearer(session_token(unique_user))
    project = await create_project(client, headers, "status")
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    return {"headers": headers, "tenant": tenant, "project": project["id"], "url": _url(project["id"])}


def _url(project: str) -> str:
    return f"/api/v1/projects/{project}/provider-status"


def record_calls(services: Services, clock: MovableClock, tenant: str, project: str) -> None:
    """Two hours ago a burst of 5xx on gpt-4o-mini; in the last minutes 429s on it, and a healthy odd model."""
    tally = CallTally(clock)
    mini = tally.for_model("openai", "gpt-4o-mini")
    for _ in range(6):
        mini.failed(ErrorKind.TRANSIENT, 502)
    clock.advance(timedelta(hours=2))
    for _ in range(8):
        mini.succeeded(400.0)
    for _ in range(2):
        mini.failed(ErrorKind.RATE_LIMIT, 429)
    odd = tally.for_model("fireworks", ODD_MODEL)
    for latency in range(100, 120):
        odd.succeeded(float(latency))
    services.provider_status.write([row for _, row in tally.take_changed(tenant, project, "t00-000000", 1)])


async def test_status_per_provider_and_model_over_every_window(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, owner: dict[str, Any]
) -> None:
    empty = await client.get(owner["url"], headers=owner["headers"])
    assert empty.status_code == 200, empty.text
    assert empty.json()["models"] == []

    record_calls(services, clock, owner["tenant"], owner["project"])
    answer = await client.get(owner["url"], headers=owner["headers"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["window"] is None
    odd, mini = body["models"]  # ordered by provider, then model
    assert (odd["provider"], odd["model"], odd["status"], odd["reasons"]) == ("fireworks", ODD_MODEL, "ok", [])
    assert odd["windows"]["15m"]["calls"] == 20
    assert 100 <= odd["windows"]["15m"]["latency_p50_ms"] <= 111
    assert odd["windows"]["15m"]["error_rate"] == 0

    assert (mini["provider"], mini["model"], mini["status"]) == ("openai", "gpt-4o-mini", "degraded")
    assert mini["reasons"] == ["rate limited on 20% of 10 calls in the last 15 minutes"]
    recent, day = mini["windows"]["15m"], mini["windows"]["24h"]
    assert (recent["calls"], recent["successes"], recent["rate_limited"], recent["server_errors"]) == (10, 8, 2, 0)
    assert recent["rate_limit_rate"] == 0.2
    assert recent["last_error_class"] == "rate_limited"
    assert mini["windows"]["1h"]["calls"] == 10  # the 5xx burst was two hours ago
    assert (day["calls"], day["server_errors"], day["rate_limited"]) == (16, 6, 2)
    assert day["error_rate"] == pytest.approx(6 / 16)
    assert recent["latency_p95_ms"] == pytest.approx(400, rel=0.01)

    one = (await client.get(owner["url"], params={"window": "1h"}, headers=owner["headers"])).json()
    assert one["window"] == "1h"
    assert [set(model["windows"]) for model in one["models"]] == [{"1h"}, {"1h"}]
    assert [model["status"] for model in one["models"]] == ["ok", "degraded"]


async def test_the_window_parameter_is_validated(client: httpx.AsyncClient, owner: dict[str, Any]) -> None:
    answer = await client.get(owner["url"], params={"window": "2h"}, headers=owner["headers"])
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [error["path"] for error in answer.json()["errors"]] == ["query.window"]


async def test_access_needs_runs_read_and_stops_at_the_tenant(
    client: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    owner: dict[str, Any],
    session_token: TokenFactory,
    unique_user: str,
) -> None:
    record_calls(services, clock, owner["tenant"], owner["project"])
    reader = await create_key(client, owner["headers"], owner["project"], ["runs:read"])
    answer = await client.get(owner["url"], headers=bearer(reader["key"]))
    assert answer.status_code == 200
    assert len(answer.json()["models"]) == 2
    exporter = await create_key(client, owner["headers"], owner["project"], ["exports:read"], name="exports")
    assert (await client.get(owner["url"], headers=bearer(exporter["key"]))).status_code == 403

    # Another tenant's caller: 404 for the project, and its own project shows none of these calls.
    stranger = bearer(session_token(unique_user + "x"))
    refused = await client.get(owner["url"], headers=stranger)
    assert refused.status_code == 404
    assert refused.json()["type"].endswith("not-found")
    theirs = await create_project(client, stranger, "theirs")
    assert (await client.get(_url(theirs["id"]), headers=stranger)).json()["models"] == []
