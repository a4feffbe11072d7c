"""Prices over the API: the shipped table for any caller, and overrides that change one project's costs alone."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.pricing.overrides import MAX_OVERRIDES, PriceOverridesRefused, project_price_table
from shared.pricing.table import default_table
from shared.providers.models import Usage
from shared.services import Services
from tests.conftest import TokenFactory
from tests.support.api import bearer, create_key, create_project

USAGE = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.fixture
def owner(session_token: TokenFactory, unique_user: str) -> dict[str, str]:
    return bearer(session_token(unique_user))


def override(model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    return {"provider": "openai", "model": model, "input_per_mtok": "1.00", "output_per_mtok": "2.00", **fields}


async def test_the_shipped_table_is_served_to_any_authenticated_caller(
    client: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/pricing")).status_code == 401
    response = await client.get("/api/v1/pricing", headers=owner)
    assert response.status_code == 200, response.text
    body = response.json()
    table = default_table()
    assert (body["version"], body["published"], body["currency"]) == (
        table.version,
        table.published.isoformat(),
        "USD",
    )
    assert len(body["models"]) == len(table.models)
    gpt = next(m for m in body["models"] if (m["provider"], m["model"]) == ("openai", "gpt-4o"))
    assert (gpt["input_per_mtok"], gpt["output_per_mtok"], gpt["simulated"], gpt["origin"]) == (
        "2.50",
        "10.00",
        False,
        "table",
    )
    assert gpt["source"].startswith("https://")
    assert gpt["as_of"]
    sandbox = [m for m in body["models"] if m["provider"] == "sandbox"]
    assert sandbox
    assert all(m["simulated"] for m in sandbox)
    assert not any(m["simulated"] for m in body["models"] if m["provider"] != "sandbox")
    # Money is a plain decimal string, never exponent notation.
    assert all("E" not in m["input_per_mtok"] for m in body["models"])

    project = await create_project(client, owner)
    reader = await create_key(client, owner, project["id"], ["runs:read"])
    assert (await client.get("/api/v1/pricing", headers=bearer(reader["key"]))).status_code == 200


async def test_overrides_change_the_projects_costs_only(
    client: httpx.AsyncClient, owner: dict[str, str], services: Services
) -> None:
    first = (await create_project(client, owner, "first"))["id"]
    second = (await create_project(client, owner, "second"))["id"]
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]
    path = f"/api/v1/projects/{first}/pricing"
    shipped = default_table()

    empty = (await client.get(path, headers=owner)).json()
    assert (empty["overrides"], empty["version"], empty["updated_at"]) == ([], shipped.version, None)

    body = {
        "models": [
            override("gpt-4o", input_per_mtok="1.25", output_per_mtok=5, source="our contract", as_of="2026-01-01"),
            override("ft:gpt-4o-mini:acme::abc123", input_per_mtok="0.30", output_per_mtok="1.20"),
        ]
    }
    response = await client.put(path, json=body, headers=owner)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["base_version"] == shipped.version
    assert saved["version"].startswith(f"{shipped.version}+project:")
    assert [(o["model"], o["input_per_mtok"], o["output_per_mtok"], o["origin"]) for o in saved["overrides"]] == [
        ("gpt-4o", "1.25", "5", "project"),
        ("ft:gpt-4o-mini:acme::abc123", "0.30", "1.20", "project"),
    ]
    assert (await client.get(path, headers=owner)).json() == saved

    priced = project_price_table(services.price_overrides, tenant, first)
    assert priced.version == saved["version"]
    assert priced.cost_for("openai", "gpt-4o", USAGE).total_usd == Decimal("6.25")
    assert priced.cost_for("openai", "gpt-4o-2024-08-06", USAGE).total_usd == Decimal("6.25")  # snapshot of it
    assert priced.cost_for("openai", "ft:gpt-4o-mini:acme::abc123", USAGE).total_usd == Decimal("1.50")
    assert (
        priced.cost_for("openai", "gpt-4o-mini", USAGE).total_usd
        == shipped.cost_for("openai", "gpt-4o-mini", USAGE).total_usd
    )
    other = project_price_table(services.price_overrides, tenant, second)
    assert other is shipped
    assert other.cost_for("openai", "gpt-4o", USAGE).total_usd == Decimal("12.50")
    assert not other.cost_for("openai", "ft:gpt-4o-mini:acme::abc123", USAGE).priced

    entries = (await client.get(f"/api/v1/projects/{first}/audit", headers=owner)).json()["items"]
    assert entries[0]["action"] == "settings.pricing_changed"
    assert entries[0]["details"] == {
        "count": 2,
        "models": ["openai/gpt-4o", "openai/ft:gpt-4o-mini:acme::abc123"],
        "version": saved["version"],
    }

    cleared = await client.put(path, json={"models": []}, headers=owner)
    assert cleared.json()["overrides"] == []
    assert project_price_table(services.price_overrides, tenant, first) is shipped


async def test_sandbox_overrides_stay_simulated(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    project = (await create_project(client, owner))["id"]
    body = {"models": [override("sandbox/fast-accurate", provider="sandbox")]}
    saved = (await client.put(f"/api/v1/projects/{project}/pricing", json=body, headers=owner)).json()
    assert saved["overrides"][0]["simulated"] is True


async def test_only_admins_change_prices_and_viewers_read_them(
    client: httpx.AsyncClient, session_token: TokenFactory
) -> None:
    org = "org_" + secrets.token_hex(6)
    owner = bearer(session_token(f"user_owner_{org}", org=org, role="org:admin"))
    member = bearer(session_token(f"user_member_{org}", org=org, role="org:member"))
    viewer = bearer(session_token(f"user_viewer_{org}", org=org, role="org:viewer"))
    project = (await create_project(client, owner))["id"]
    path = f"/api/v1/projects/{project}/pricing"
    body = {"models": [override()]}
    assert (await client.put(path, json=body, headers=member)).status_code == 403
    assert (await client.put(path, json=body, headers=viewer)).status_code == 403
    assert (await client.put(path, json=body, headers=owner)).status_code == 200
    assert (await client.get(path, headers=viewer)).json()["overrides"][0]["model"] == "gpt-4o"
    reader = bearer((await create_key(client, owner, project, ["runs:read"]))["key"])
    assert (await client.get(path, headers=reader)).status_code == 200
    assert (await client.put(path, json=body, headers=reader)).status_code == 403


@pytest.mark.parametrize(
    ("models", "path"),
    [
        ([override(), override()], "body.models[1].model"),
        ([override(input_per_mtok=-1)], "body.models[0].input_per_mtok"),
        ([override(output_per_mtok="NaN")], "body.models[0].output_per_mtok"),
        ([override(input_per_mtok="0.0000000001")], "body.models[0].input_per_mtok"),
        ([override(provider="acme")], "body.models[0].provider"),
        ([override(model="has space")], "body.models[0].model"),
        ([override(free=True)], "body.models[0].free"),
        ([{"provider": "openai", "model": "x", "input_per_mtok": 1}], "body.models[0].output_per_mtok"),
        # An alias that names another shipped model's price.
        ([override("my-model", aliases=["gpt-4o-mini"])], "body.models"),
        ([override("my-model", aliases=["my-model"])], "body.models"),
        ([override(f"m{i}") for i in range(MAX_OVERRIDES + 1)], "body.models"),
    ],
)
async def test_bad_overrides_answer_422_naming_the_field(
    client: httpx.AsyncClient, owner: dict[str, str], models: list[dict[str, Any]], path: str
) -> None:
    project = (await create_project(client, owner))["id"]
    response = await client.put(f"/api/v1/projects/{project}/pricing", json={"models": models}, headers=owner)
    assert response.status_code == 422, response.text
    assert path in {e["path"] for e in response.json()["errors"]}
    assert (await client.get(f"/api/v1/projects/{project}/pricing", headers=owner)).json()["overrides"] == []


def test_the_store_refuses_what_would_not_fit_a_table_property(services: Services) -> None:
    services.price_overrides.ensure()
    template = default_table().models[0]
    prices = [
        template.model_copy(update={"model": f"model-{i}-" + "x" * 150, "aliases": (), "notes": "n" * 400})
        for i in range(MAX_OVERRIDES)
    ]
    with pytest.raises(PriceOverridesRefused, match="characters stored"):
        services.price_overrides.replace("ten_" + "a" * 20, "prj_" + "a" * 20, prices, "user_x")
