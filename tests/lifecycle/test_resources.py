"""Deleting one run or one suite: 404 at once, then the job removes exactly its rows and blobs."""

from __future__ import annotations

import httpx

from shared.services import Services
from tests.lifecycle.conftest import populate
from tests.lifecycle.scan import mentions, take_deletion_message


def _purged_receipts(services: Services, tenant: str, project: str, action: str) -> list[str]:
    entries = services.audit.list(tenant, project, limit=50, cursor=None).items
    return [entry.target_id for entry in entries if entry.action == action]


async def test_deleting_a_run_removes_its_results_and_outputs_only(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str]
) -> None:
    ids = await populate(client, services, owner, "runs")
    base = f"/api/v1/projects/{ids['project']}/runs"
    # The run started through the API is still queued (no worker in process): refused.
    active = await client.delete(f"{base}/{ids['run']}", headers=owner)
    assert active.status_code == 409
    assert active.json()["type"] == "urn:tokenroute:problem:run-active"

    assert (await client.delete(f"{base}/{ids['seeded_run']}", headers=owner)).status_code == 204
    assert (await client.get(f"{base}/{ids['seeded_run']}", headers=owner)).status_code == 404
    tombstone = services.purger.handle(take_deletion_message(services, ids["seeded_run"]))
    assert tombstone is not None
    assert tombstone.completed_at is not None
    assert tombstone.counts["table:results"] == 100
    assert tombstone.counts["blobs:outputs"] == 1
    # Route decisions name the runs they rest on (an id, no content); they are immutable evidence.
    # The trends feed keeps the run's end (ids and a time): the rollup reads it to drop the run's parts.
    left = {place for place in mentions(services, ids["seeded_run"]) if not place.startswith("blob:decisions/")}
    assert left <= {"table:audit", "table:deletions", "table:routedecisions", "table:runcompletions"}
    assert _purged_receipts(services, ids["tenant"], ids["project"], "run.purged") == [ids["seeded_run"]]
    assert (await client.get(f"{base}/{ids['run']}", headers=owner)).status_code == 200


async def test_deleting_a_suite_removes_its_versions(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str]
) -> None:
    ids = await populate(client, services, owner, "suites")
    base = f"/api/v1/projects/{ids['project']}/suites"
    suite = (await client.get(base, headers=owner)).json()["items"][0]["id"]
    assert (await client.delete(f"{base}/{suite}", headers=owner)).status_code == 204
    assert (await client.get(f"{base}/{suite}", headers=owner)).status_code == 404
    tombstone = services.purger.handle(take_deletion_message(services, suite))
    assert tombstone is not None
    assert {step: n for step, n in tombstone.counts.items() if n} == {"table:suiteversions": 1, "blobs:suites": 1}
    # Runs keep naming the suite they were made from; nothing else of it is stored.
    left = set(mentions(services, suite))
    assert left <= {"table:audit", "table:deletions", "table:runs"}
    assert _purged_receipts(services, ids["tenant"], ids["project"], "suite.purged") == [suite]
