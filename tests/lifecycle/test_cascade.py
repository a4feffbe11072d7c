"""Deleting a project: unreachable at once, then the cascade leaves nothing of it but the audit trail
and the completed tombstone; another project of the same tenant is untouched; an interrupted
cascade finishes when retried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.lifecycle.cascade import Step, Target
from shared.lifecycle.messages import DeletionMessage
from shared.services import Services
from shared.storage.catalog import API_KEY_INDEX_TABLE, AUDIT_TABLE, DELETIONS_TABLE
from tests.conftest import MovableClock
from tests.lifecycle.conftest import populate
from tests.lifecycle.scan import mentions, purge, secrets_of, take_deletion_message
from tests.support.api import bearer

# Where a purged project's id may still appear: its audit trail (with the receipt) and its tombstone.
ALLOWED = {f"table:{AUDIT_TABLE}", f"table:{DELETIONS_TABLE}"}


async def _delete(client: httpx.AsyncClient, owner: dict[str, str], project: str) -> None:
    response = await client.delete(f"/api/v1/projects/{project}", headers=owner)
    assert response.status_code == 204, response.text


def _assert_purged(services: Services, gone: dict[str, Any]) -> None:
    left = set(mentions(services, gone["project"]))
    assert left <= ALLOWED, f"still stored: {sorted(left - ALLOWED)}"
    assert not secrets_of(services, gone["tenant"], gone["project"])
    # The API key index is keyed by key id alone: check it by key too.
    assert f"table:{API_KEY_INDEX_TABLE}" not in mentions(services, gone["key_id"])


async def _receipt(client: httpx.AsyncClient, services: Services, gone: dict[str, Any]) -> dict[str, Any]:
    entries = services.audit.list(gone["tenant"], gone["project"], limit=50, cursor=None).items
    receipts = [entry for entry in entries if entry.action == "project.purged"]
    assert len(receipts) == 1
    details = receipts[0].details
    assert details is not None
    counts: dict[str, Any] = details["counts"]
    return counts


async def test_deleted_project_leaves_nothing_but_its_audit_trail(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], clock: MovableClock
) -> None:
    gone = await populate(client, services, owner, "gone")
    kept = await populate(client, services, owner, "kept")
    assert secrets_of(services, gone["tenant"], gone["project"])
    before_kept = sorted(mentions(services, kept["project"]))

    await _delete(client, owner, gone["project"])
    # Unreachable at once, by people and by the project's own key.
    assert (await client.get(f"/api/v1/projects/{gone['project']}", headers=owner)).status_code == 404
    runs = f"/api/v1/projects/{gone['project']}/runs"
    assert (await client.get(runs, headers=bearer(gone["raw_key"]))).status_code == 404

    message = take_deletion_message(services, gone["project"])
    first = services.purger.handle(message)
    assert first is not None
    # The first pass deletes everything, but the receipt waits for the second, after the grace period.
    assert first.completed_at is None
    _assert_purged(services, gone)
    assert not [
        e
        for e in services.audit.list(gone["tenant"], gone["project"], limit=50, cursor=None).items
        if e.action == "project.purged"
    ]
    clock.advance(services.purger.settle)
    tombstone = services.purger.handle(message)
    assert tombstone is not None
    assert tombstone.completed_at is not None

    _assert_purged(services, gone)
    # The project's key no longer authenticates at all: its record and index row are gone.
    assert (await client.get("/api/v1/me", headers=bearer(gone["raw_key"]))).status_code == 401
    counts = await _receipt(client, services, gone)
    assert counts["table:results"] >= 100
    assert counts["table:runs"] == 2
    assert counts["secrets"] == 1
    assert counts["blobs:outputs"] == 1
    assert counts["blobs:suites"] == 1
    assert counts["table:apikeyindex"] == 1
    # The other project of the tenant is exactly as it was, and still works.
    assert sorted(mentions(services, kept["project"])) == before_kept
    assert secrets_of(services, kept["tenant"], kept["project"])
    run = await client.get(f"/api/v1/projects/{kept['project']}/runs/{kept['seeded_run']}/results", headers=owner)
    assert run.status_code == 200
    assert run.json()["items"]

    # A duplicate delivery changes nothing and writes no second receipt.
    assert services.purger.handle(DeletionMessage(tenant_id=gone["tenant"], resource_id=gone["project"]))
    await _receipt(client, services, gone)


async def test_interrupted_cascade_completes_when_retried(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], clock: MovableClock
) -> None:
    gone = await populate(client, services, owner, "interrupted")
    await _delete(client, owner, gone["project"])
    message = take_deletion_message(services, gone["project"])
    purger = services.purger
    steps = list(purger.steps["project"])

    def crash(target: Target) -> int:
        raise RuntimeError("worker killed")

    # Crash right after the first two tables are done.
    purger.steps["project"] = [*steps[:2], Step("crash", crash), *steps[2:]]
    with pytest.raises(RuntimeError):
        purger.handle(message)
    tombstone = purger.deletions.get(gone["tenant"], gone["project"])
    assert tombstone.steps_done == [steps[0].name, steps[1].name]
    assert tombstone.completed_at is None
    assert mentions(services, gone["project"])  # most of the project is still there

    purger.steps["project"] = steps
    done = purge(services, clock, message)
    assert done.steps_done == [step.name for step in steps]
    _assert_purged(services, gone)
    counts = await _receipt(client, services, gone)
    assert counts["table:apikeyindex"] == 1
    assert counts["table:results"] >= 100


async def test_unfinished_cascades_are_found_again(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], clock: MovableClock
) -> None:
    gone = await populate(client, services, owner, "lost")
    await _delete(client, owner, gone["project"])
    message = take_deletion_message(services, gone["project"])  # as if the message were lost
    clock.advance(timedelta(minutes=20))
    now = clock.now()
    assert message in services.purger.pending(now - timedelta(days=7), now - timedelta(minutes=15))
    purge(services, clock, message)
    assert message not in services.purger.pending(now - timedelta(days=7), now)
