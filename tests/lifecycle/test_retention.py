"""Retention removes exactly the results and outputs of runs created before `now - retention_days`."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.runs.models import RunRecord
from shared.services import Services
from shared.storage import Table, blob_path, where
from shared.storage.catalog import RESULTS_TABLE
from shared.storage.tables import next_code_point_prefix
from tests.conftest import MovableClock
from tests.lifecycle.conftest import populate
from tests.routing.seed import SeedTarget, seed_run


def _run_at(services: Services, tenant: str, project: str, created_at_offset: timedelta) -> RunRecord:
    """A run with 10 results and one output blob, created `created_at_offset` from now."""
    run = seed_run(services, tenant, project, [SeedTarget("sandbox", "sandbox/fast-accurate", passes=5)], cases=10)
    run = run.model_copy(update={"created_at": services.clock.now() + created_at_offset})
    services.runs.runs.upsert(run)
    services.results.outputs.put(blob_path(tenant, project, run.row_key, "t00-000000", "c000-000.txt"), b"x")
    return run


def _left(services: Services, tenant: str, project: str, run: RunRecord) -> tuple[int, int]:
    """How many result rows and output blobs of the run remain."""
    prefix = f"{tenant}~{project}~{run.row_key}~"
    table = Table(services.storage, RESULTS_TABLE)
    rows = list(
        table.query_all(
            where("PartitionKey ge @low and PartitionKey lt @high", low=prefix, high=next_code_point_prefix(prefix))
        )
    )
    blobs = list(services.results.outputs.list(blob_path(tenant, project, run.row_key) + "/"))
    return len(rows), len(blobs)


async def test_retention_deletes_exactly_what_is_older_than_the_period(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], clock: MovableClock
) -> None:
    ids = await populate(client, services, owner, "retained")
    tenant, project = ids["tenant"], ids["project"]
    other = await populate(client, services, owner, "no-period")
    old = _run_at(services, tenant, project, -timedelta(days=30, minutes=1))
    young = _run_at(services, tenant, project, -timedelta(days=29, hours=23))
    other_old = _run_at(services, other["tenant"], other["project"], -timedelta(days=400))

    patched = await client.patch(f"/api/v1/projects/{project}", json={"retention_days": 30}, headers=owner)
    assert patched.status_code == 200
    assert patched.json()["retention_days"] == 30
    counts = services.retention.sweep_all()[(tenant, project)]

    assert _left(services, tenant, project, old) == (0, 0)
    assert _left(services, tenant, project, young) == (10, 1)
    assert _left(services, other["tenant"], other["project"], other_old) == (10, 1)  # no period: kept
    assert old.row_key in counts.runs
    assert young.row_key not in counts.runs
    entries = services.audit.list(tenant, project, limit=20, cursor=None).items
    applied = [entry for entry in entries if entry.action == "retention.applied"]
    assert len(applied) == 1
    assert applied[0].details is not None
    assert applied[0].details["results"] == counts.results
    assert old.row_key in applied[0].details["runs"]
    assert [entry.action for entry in entries].count("settings.retention_changed") == 1

    # A day later the young run crosses the line too; a run a live decision cites would be kept.
    clock.advance(timedelta(days=1))
    services.retention.cited = lambda t, p: {young.row_key} if (t, p) == (tenant, project) else set()
    again = services.retention.sweep_project(tenant, project, 30)
    assert again.kept_cited == [young.row_key]
    assert _left(services, tenant, project, young) == (10, 1)
    services.retention.cited = lambda t, p: set()
    assert young.row_key in services.retention.sweep_project(tenant, project, 30).runs
    assert _left(services, tenant, project, young) == (0, 0)

    # Zero clears the period.
    cleared = await client.patch(f"/api/v1/projects/{project}", json={"retention_days": 0}, headers=owner)
    assert cleared.json()["retention_days"] is None
