"""Fixtures for lifecycle tests: a populated project and its owner (the app fixtures are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.services import Services
from shared.storage import blob_path
from tests.conftest import TokenFactory
from tests.routing.seed import SeedTarget, seed_run
from tests.support.api import bearer, create_key, create_project, sandbox_run_body


async def populate(client: httpx.AsyncClient, services: Services, headers: dict[str, str], name: str) -> dict[str, Any]:
    """A project with something in every place a project keeps data; returns its ids."""
    project = await create_project(client, headers, name)
    project_id = project["id"]
    key = await create_key(client, headers, project_id, ["admin", "runs:read", "runs:write"])
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project_id}"
    run_body = await sandbox_run_body(client, headers, project_id, f"{name} suite")
    started = await client.post(f"{base}/runs", json=run_body, headers=headers)
    assert started.status_code == 202, started.text
    credential_body = {"provider": "openai", "name": name, "key": "sk-lifecycle-0123456789"}
    credential = await client.post(f"{base}/credentials", json=credential_body, headers=headers)
    assert credential.status_code == 201, credential.text
    prices = {"models": [{"provider": "openai", "model": "gpt-x", "input_per_mtok": "1", "output_per_mtok": "2"}]}
    priced = await client.put(f"{base}/pricing", json=prices, headers=headers)
    assert priced.status_code == 200, priced.text
    evidence = seed_run(services, tenant, project_id, [SeedTarget("sandbox", "sandbox/fast-accurate", passes=90)])
    # A large output, as the worker stores it: a blob under the project's prefix.
    services.results.outputs.put(
        blob_path(tenant, project_id, evidence.row_key, "t00-000000", "c000-000.txt"), b"long output"
    )
    # The rollup's to-do list names the project once a run of it ends (keyed by hour, not by project).
    services.rollup.work.mark(tenant, project_id, services.clock.now())
    decision_body = {"task": f"{name}-task", "evidence": {"runs": [evidence.row_key]}}
    decision = await client.post(f"{base}/route-decisions", json=decision_body, headers=headers)
    assert decision.status_code == 201, decision.text
    return {
        "tenant": tenant,
        "project": project_id,
        "key_id": key["id"],
        "raw_key": key["key"],
        "credential": credential.json()["id"],
        "run": started.json()["id"],
        "seeded_run": evidence.row_key,
    }


@pytest.fixture
def owner(session_token: TokenFactory, unique_user: str) -> dict[str, str]:
    """An owner of a fresh personal tenant."""
    return bearer(session_token(unique_user))
