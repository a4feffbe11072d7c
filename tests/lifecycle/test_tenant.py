"""Deleting a whole tenant: owners only, confirmed; closed at once; then nothing of it remains but its
receipt (no names, no user ids); another tenant is untouched; an interrupted cascade finishes when
retried; signing in again starts an empty tenant."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.exports.builder import handle
from shared.exports.models import ExportMessage
from shared.lifecycle.cascade import Step, Target
from shared.lifecycle.messages import DeletionMessage
from shared.services import Services
from shared.storage.catalog import DELETIONS_TABLE
from tests.conftest import MovableClock, TokenFactory
from tests.lifecycle.conftest import populate
from tests.lifecycle.scan import mentions, purge, take_deletion_message
from tests.support.api import bearer, create_key, create_project


def _org() -> str:
    return "org_" + uuid.uuid4().hex[:16]


def _user() -> str:
    return "user_" + uuid.uuid4().hex[:16]


async def _organization(client: httpx.AsyncClient, services: Services, session_token: TokenFactory) -> dict[str, Any]:
    """An organization with an owner, a member and an admin, two populated projects and a tenant export."""
    org = _org()
    owner_id, member_id, admin_id = (_user() for _ in range(3))
    owner = bearer(session_token(owner_id, org=org, role="org:admin"))
    member = bearer(session_token(member_id, org=org, role="org:member"))
    admin = bearer(session_token(admin_id, org=org, role="org:manager"))
    first = await populate(client, services, owner, "first")
    second = await populate(client, services, owner, "second")
    for headers in (member, admin):
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    export = await client.post("/api/v1/tenant/exports", headers=owner)
    assert export.status_code == 202, export.text
    return {
        "tenant": first["tenant"],
        "owner": owner,
        "member": member,
        "admin": admin,
        "users": [owner_id, member_id, admin_id],
        "projects": [first, second],
    }


async def _delete(client: httpx.AsyncClient, org: dict[str, Any]) -> str:
    response = await client.delete("/api/v1/tenant", params={"confirm": org["tenant"]}, headers=org["owner"])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["tenant_id"] == org["tenant"]
    assert body["status"] == "deleting"
    deletion_id: str = body["deletion_id"]
    return deletion_id


def _assert_only_the_receipt(services: Services, org: dict[str, Any], deletion_id: str) -> None:
    assert set(mentions(services, org["tenant"])) == {f"table:{DELETIONS_TABLE}"}
    rows = services.projects.deletions.list_partition(org["tenant"]).items
    assert [(row.row_key, row.kind) for row in rows] == [(deletion_id, "tenant")]
    receipt = rows[0]
    assert receipt.requested_by == "owner"
    assert receipt.name == "organization"
    # Nothing names a person, a project, a key or a credential of the tenant any more.
    for needle in [*org["users"], *(p[k] for p in org["projects"] for k in ("project", "key_id", "credential"))]:
        assert mentions(services, needle) == [], needle
    assert services.secrets.list_refs(org["tenant"]) == []


async def test_only_a_signed_in_owner_who_confirms_deletes_the_tenant(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory
) -> None:
    org = await _organization(client, services, session_token)
    key = org["projects"][0]["raw_key"]
    other = bearer(session_token(_user()))
    other_tenant = (await client.get("/api/v1/me", headers=other)).json()["tenant_id"]
    confirm = {"confirm": org["tenant"]}
    for headers, status in ((org["admin"], 403), (org["member"], 403), (bearer(key), 403)):
        response = await client.delete("/api/v1/tenant", params=confirm, headers=headers)
        assert response.status_code == status, response.text
    missing = await client.delete("/api/v1/tenant", headers=org["owner"])
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["path"] == "query.confirm"
    # Naming another tenant deletes nothing: neither that one nor the caller's.
    wrong = await client.delete("/api/v1/tenant", params={"confirm": other_tenant}, headers=org["owner"])
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["path"] == "query.confirm"
    assert (await client.get("/api/v1/me", headers=other)).status_code == 200
    assert (await client.get("/api/v1/me", headers=org["owner"])).status_code == 200
    assert (await client.get("/api/v1/projects", headers=bearer(key))).status_code == 200


async def test_deleted_tenant_leaves_only_its_receipt(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory, clock: MovableClock
) -> None:
    org = await _organization(client, services, session_token)
    kept_owner = bearer(session_token(_user()))
    kept = await populate(client, services, kept_owner, "kept")
    kept_before = sorted(mentions(services, kept["tenant"]))

    deletion_id = await _delete(client, org)
    # Closed at once: every member's session and every key of every project answers 401.
    for headers in (org["owner"], org["member"], org["admin"], *(bearer(p["raw_key"]) for p in org["projects"])):
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, response.text
    project = org["projects"][0]["project"]
    assert (await client.get(f"/api/v1/projects/{project}", headers=org["owner"])).status_code == 401

    message = take_deletion_message(services, deletion_id)
    assert message == DeletionMessage(tenant_id=org["tenant"], resource_id=deletion_id, kind="tenant")
    receipt = purge(services, clock, message)
    _assert_only_the_receipt(services, org, deletion_id)
    assert receipt.counts["table:projects"] == 2
    assert receipt.counts["table:memberships"] == 3
    assert receipt.counts["table:usertenants"] == 3
    assert receipt.counts["table:results"] >= 200
    assert receipt.counts["secrets"] == 2
    assert receipt.counts["table:apikeyindex"] == 2  # deleted by the request, at once
    assert receipt.counts["table:tenants"] == 1
    assert receipt.counts["table:activation"] >= 1
    assert receipt.counts["blobs:packs"] == 0  # the export was never built
    assert receipt.counts["table:exports"] == 1

    # The other tenant is exactly as it was, and works.
    assert sorted(mentions(services, kept["tenant"])) == kept_before
    runs = await client.get(f"/api/v1/projects/{kept['project']}/runs", headers=kept_owner)
    assert runs.status_code == 200
    assert len(runs.json()["items"]) == 2

    # A duplicate delivery changes nothing.
    duplicate = services.purger.handle(message)
    assert duplicate is not None
    assert (duplicate.completed_at, duplicate.counts) == (receipt.completed_at, receipt.counts)

    # Signing in again starts a new, empty tenant under the same id; the receipt stays apart.
    me = await client.get("/api/v1/me", headers=org["owner"])
    assert me.status_code == 200
    assert me.json()["tenant_id"] == org["tenant"]
    assert [(t["tenant_id"], t["role"]) for t in me.json()["tenants"]] == [(org["tenant"], "owner")]
    assert (await client.get("/api/v1/projects", headers=org["owner"])).json()["items"] == []
    assert (await client.get(f"/api/v1/projects/{project}", headers=org["owner"])).status_code == 404
    assert services.activation.funnel(org["tenant"]) == []
    assert services.audit.list(org["tenant"], None, limit=10, cursor=None).items == []
    # Its data export holds nothing of the old tenant, the old receipt included.
    created = await client.post("/api/v1/tenant/exports", headers=org["owner"])
    export = ExportMessage(tenant_id=org["tenant"], project_id="-", export_id=created.json()["id"])
    built = handle(services, export)
    assert built is not None
    archive = zipfile.ZipFile(io.BytesIO(services.exports.packs.get(built.blob)))
    assert (archive.read("projects.jsonl"), archive.read("deletions.jsonl")) == (b"", b"")
    # Its funnel starts over: the first project of the new tenant is recorded again.
    await create_project(client, org["owner"], "again")
    assert [row.row_key for row in services.activation.funnel(org["tenant"])] == ["project_created"]
    assert [json.loads(line)["RowKey"] for line in archive.read("members.jsonl").splitlines()] == [org["users"][0]]
    # And it can be deleted again: a second receipt, the first one kept.
    again = await _delete(client, org)
    purge(services, clock, take_deletion_message(services, again))
    rows = services.projects.deletions.list_partition(org["tenant"]).items
    assert sorted(row.row_key for row in rows) == sorted([deletion_id, again])


async def test_interrupted_tenant_deletion_completes_when_retried(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory, clock: MovableClock
) -> None:
    org = await _organization(client, services, session_token)
    # A key made after the first project's, so the key index has rows of both projects to find.
    await create_key(client, org["owner"], org["projects"][1]["project"], ["runs:read"], name="late")
    deletion_id = await _delete(client, org)
    message = take_deletion_message(services, deletion_id)
    purger = services.purger
    steps = list(purger.steps["tenant"])

    def crash(target: Target) -> int:
        raise RuntimeError("worker killed")

    # Killed after the projects' tables, before their blobs, secrets and the tenant-wide rows.
    cut = next(i for i, step in enumerate(steps) if step.name.startswith("blobs:"))
    purger.steps["tenant"] = [*steps[:cut], Step("crash", crash), *steps[cut:]]
    with pytest.raises(RuntimeError):
        purger.handle(message)
    tombstone = purger.deletions.get(org["tenant"], deletion_id)
    assert tombstone.steps_done == [step.name for step in steps[:cut]]
    assert tombstone.completed_at is None
    assert mentions(services, org["users"][0])  # the members are still there
    # Still closed: nobody gets in while the deletion is unfinished.
    assert (await client.get("/api/v1/me", headers=org["owner"])).status_code == 401
    # Had the job died for good, the hourly timer would send the message again.
    clock.advance(timedelta(minutes=20))
    now = clock.now()
    assert message in purger.pending(now - timedelta(days=7), now - timedelta(minutes=15))

    purger.steps["tenant"] = steps
    done = purge(services, clock, message)
    assert done.steps_done == [*(step.name for step in steps), "closing"]
    _assert_only_the_receipt(services, org, deletion_id)


async def test_a_retry_after_the_tenant_row_went_spares_a_tenant_created_since(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory, clock: MovableClock
) -> None:
    owner = bearer(session_token(_user()))
    ids = await populate(client, services, owner, "closing")
    deletion_id = await _delete(client, {"tenant": ids["tenant"], "owner": owner})
    message = take_deletion_message(services, deletion_id)
    purger = services.purger
    assert purger.handle(message) is not None
    clock.advance(purger.settle)
    close = purger.tenant.close

    def close_then_crash(tenant_id: str) -> int:
        close(tenant_id)
        raise RuntimeError("worker killed")

    # Killed just after the tenant row went, before the receipt was completed.
    purger.tenant.close = close_then_crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        purger.handle(message)
    purger.tenant.close = close  # type: ignore[method-assign]
    # The owner signs in again meanwhile and starts over.
    fresh = await create_project(client, owner, "fresh start")
    done = purger.handle(message)
    assert done is not None
    assert done.completed_at is not None
    assert done.counts["table:tenants"] == 0  # the new tenant's row was left alone
    assert (await client.get(f"/api/v1/projects/{fresh['id']}", headers=owner)).status_code == 200
    assert (await client.get("/api/v1/me", headers=owner)).status_code == 200
