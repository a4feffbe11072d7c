"""A tenant's data export: owners only; a pack (verified against its manifest) with every kind of
record the tenant has, and no API key, key hash or provider key; downloads audited."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from shared.exports.builder import handle
from shared.exports.models import ExportMessage
from shared.exports.verify import verify_pack
from shared.lifecycle.cascade import PROJECT_TABLES
from shared.services import Services
from shared.storage.catalog import RESULTS_TABLE
from tests.conftest import TokenFactory
from tests.lifecycle.conftest import populate
from tests.support.api import bearer

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "pack.schema.json"


def _lines(archive: zipfile.ZipFile, path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in archive.read(path).decode().splitlines()]


async def test_tenant_export_holds_every_record_and_no_secret(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory
) -> None:
    org = "org_" + uuid.uuid4().hex[:16]
    owner_id, admin_id = "user_" + uuid.uuid4().hex[:16], "user_" + uuid.uuid4().hex[:16]
    owner = bearer(session_token(owner_id, org=org, role="org:admin"))
    admin = bearer(session_token(admin_id, org=org, role="org:manager"))
    ids = await populate(client, services, owner, "exported")
    other = await populate(client, services, bearer(session_token("user_" + uuid.uuid4().hex[:16])), "other")
    base = f"/api/v1/projects/{ids['project']}"
    project_export = await client.post(f"{base}/exports", json={"kind": "run", "id": ids["seeded_run"]}, headers=owner)
    assert project_export.status_code == 202, project_export.text
    run = (await client.get(f"{base}/runs/{ids['run']}", headers=owner)).json()
    schedule_body = {
        "suite_id": run["suite_id"],
        "version": run["version"],
        "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}],
        "budget_usd": "1.00",
        "cron": "0 30 2 * * *",
    }
    schedule = await client.post(f"{base}/schedules", json=schedule_body, headers=owner)
    assert schedule.status_code == 201, schedule.text

    # Only a signed-in owner may take everything.
    assert (await client.post("/api/v1/tenant/exports", headers=admin)).status_code == 403
    assert (await client.post("/api/v1/tenant/exports", headers=bearer(ids["raw_key"]))).status_code == 403
    # And a project export cannot be turned into one.
    sneaky = await client.post(f"{base}/exports", json={"kind": "tenant"}, headers=owner)
    assert sneaky.status_code == 422
    created = await client.post("/api/v1/tenant/exports", headers=owner)
    assert created.status_code == 202, created.text
    export = created.json()
    assert (export["kind"], export["subject_id"], export["status"]) == ("tenant", ids["tenant"], "queued")

    built = handle(services, ExportMessage(tenant_id=ids["tenant"], project_id="-", export_id=export["id"]))
    assert built is not None
    assert built.status.value == "ready", built.failure
    path = f"/api/v1/tenant/exports/{export['id']}"
    assert (await client.get(path, headers=admin)).status_code == 403
    shown = await client.get(path, headers=owner)
    assert shown.status_code == 200
    assert shown.json()["link"]["url"]
    download = await client.get(f"{path}/download", headers=owner)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    data = download.content
    assert shown.json()["sha256"] == built.sha256

    verified = verify_pack(io.BytesIO(data))
    archive = verified.archive
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(verified.manifest)
    assert (verified.manifest["kind"], verified.manifest["subject_id"]) == ("tenant", ids["tenant"])
    names = set(archive.namelist())
    project = f"projects/{ids['project']}"
    assert json.loads(archive.read("tenant.json"))["kind"] == "organization"
    assert {row["RowKey"]: row["role"] for row in _lines(archive, "members.jsonl")} == {
        owner_id: "owner",
        admin_id: "admin",
    }
    assert [row["RowKey"] for row in _lines(archive, "projects.jsonl")] == [ids["project"]]
    assert {"project_created", "api_key_created", "credential_added"} <= {
        row["RowKey"] for row in _lines(archive, "activation.jsonl")
    }
    assert "tenant.export_requested" in {row["action"] for row in _lines(archive, "audit.jsonl")}
    assert export["id"] in {row["RowKey"] for row in _lines(archive, "exports.jsonl")}
    assert "deletions.jsonl" in names
    assert json.loads(archive.read(f"{project}/project.json"))["name"] == "exported"
    assert "project.created" in {row["action"] for row in _lines(archive, f"{project}/audit.jsonl")}
    for table in PROJECT_TABLES:
        if table != RESULTS_TABLE:
            assert f"{project}/tables/{table}.jsonl" in names, table
    keys = _lines(archive, f"{project}/tables/apikeys.jsonl")
    assert [key["RowKey"] for key in keys] == [ids["key_id"]]
    assert "secret_hash" not in keys[0]
    credentials = _lines(archive, f"{project}/tables/credentials.jsonl")
    assert [(c["RowKey"], c["fingerprint"]) for c in credentials] == [(ids["credential"], "…6789")]
    assert "secret_version" not in credentials[0]
    runs = {row["RowKey"] for row in _lines(archive, f"{project}/tables/runs.jsonl")}
    assert runs == {ids["run"], ids["seeded_run"]}
    assert len(_lines(archive, f"{project}/runs/{ids['seeded_run']}/results.jsonl")) == 100
    assert f"{project}/runs/{ids['run']}/run.json" in names
    assert [n for n in names if n.startswith(f"{project}/suites/") and n.endswith(".json")]
    assert [n for n in names if n.startswith(f"{project}/decisions/")]
    assert _lines(archive, f"{project}/tables/routedecisions.jsonl")
    assert project_export.json()["id"] in {row["RowKey"] for row in _lines(archive, f"{project}/tables/exports.jsonl")}
    assert _lines(archive, f"{project}/tables/priceoverrides.jsonl")
    assert [row["RowKey"] for row in _lines(archive, f"{project}/tables/schedules.jsonl")] == [schedule.json()["id"]]

    # Nothing secret, and nothing of another tenant, anywhere in the pack.
    stored_hash = services.api_keys.find(ids["tenant"], ids["project"], ids["key_id"])
    assert stored_hash is not None
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8", "replace")
    secret = ids["raw_key"].split("_", 2)[2]
    for needle in (ids["raw_key"], secret, stored_hash.secret_hash, "sk-lifecycle-0123456789", other["tenant"]):
        assert needle not in everything
    assert ids["raw_key"].encode() not in data

    downloads = [
        entry.details
        for entry in services.audit.list(ids["tenant"], None, limit=20, cursor=None).items
        if entry.action == "export.downloaded"
    ]
    assert [d["via"] for d in downloads if d] == ["stream", "link"]


async def test_another_tenants_data_export_answers_404(
    client: httpx.AsyncClient, services: Services, session_token: TokenFactory
) -> None:
    victim = bearer(session_token("user_" + uuid.uuid4().hex[:16]))
    await populate(client, services, victim, "victim")
    export = (await client.post("/api/v1/tenant/exports", headers=victim)).json()["id"]
    attacker = bearer(session_token("user_" + uuid.uuid4().hex[:16]))
    for path in (f"/api/v1/tenant/exports/{export}", f"/api/v1/tenant/exports/{export}/download"):
        assert (await client.get(path, headers=attacker)).status_code == 404
        assert (await client.get(path, headers=victim)).status_code in (200, 409)
