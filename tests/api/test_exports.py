"""Benchmark packs through the API: build, contents, hashes, links, download, import, isolation."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.api.app import MAX_BODY_BYTES, create_api
from shared.config import Settings
from shared.exports.builder import handle
from shared.exports.expiry import PACK_LIFETIME, Expired, expire_lifetime
from shared.exports.models import ExportMessage
from shared.runs.summary import summarize_run
from shared.services import Services
from tests.conftest import MovableClock, TokenFactory
from tests.exports.seed import grown_pack, seed_suite_run
from tests.support.api import bearer, create_key, create_project

SUITE = {"cases": [{"id": f"c{i:03d}", "template": f"What is {i}+{i}?", "expected": str(2 * i)} for i in range(40)]}


@pytest.fixture
async def owner(client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str) -> dict[str, Any]:
    """A person, their tenant, a project with a suite version and a finished run of it."""
    headers = bearer(session_token(unique_user))
    project = await create_project(client, headers, "exports")
    tenant = (await client.get("/api/v1/me", headers=headers)).json()["tenant_id"]
    base = f"/api/v1/projects/{project['id']}"
    suite = (await client.post(f"{base}/suites", json={"name": "arith"}, headers=headers)).json()
    version = (await client.post(f"{base}/suites/{suite['id']}/versions", json=SUITE, headers=headers)).json()
    return {
        "headers": headers,
        "tenant": tenant,
        "project": project["id"],
        "base": base,
        "suite": suite["id"],
        "version": version["version"],
    }


async def build(client: httpx.AsyncClient, services: Services, owner: dict[str, Any], body: dict[str, Any]) -> str:
    """Request an export and run its queue job in process (twice: a duplicate delivery)."""
    response = await client.post(f"{owner['base']}/exports", json=body, headers=owner["headers"])
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    export_id: str = response.json()["id"]
    message = ExportMessage(tenant_id=owner["tenant"], project_id=owner["project"], export_id=export_id)
    first = await asyncio.to_thread(handle, services, message)
    again = await asyncio.to_thread(handle, services, message)
    assert first is not None
    assert again is not None
    assert (first.status, again.sha256, again.etag) == ("ready", first.sha256, first.etag)
    return export_id


async def download(client: httpx.AsyncClient, owner: dict[str, Any], export_id: str) -> bytes:
    """The pack through the streaming fallback."""
    response = await client.get(f"{owner['base']}/exports/{export_id}/download", headers=owner["headers"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return response.content


async def test_run_pack_matches_the_run_and_its_hashes_verify(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"])
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    data = await download(client, owner, export_id)
    status = (await client.get(f"{owner['base']}/exports/{export_id}", headers=owner["headers"])).json()
    assert status["sha256"] == hashlib.sha256(data).hexdigest()
    assert status["size_bytes"] == len(data)

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist()[-1] == "manifest.json"  # written last, once every hash is known
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["schema"], manifest["schema_version"], manifest["kind"]) == ("tokenroute.pack", "1.0", "run")
    assert manifest["tokenroute_version"]
    assert manifest["created_at"]
    for entry in manifest["files"]:
        content = archive.read(entry["path"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["size"]
    assert {e["path"] for e in manifest["files"]} | {"manifest.json"} == set(archive.namelist())

    # The suite version's bytes hash to its id, and are the stored bytes.
    suite_bytes = archive.read(f"suites/{owner['suite']}/{owner['version']}.json")
    assert hashlib.sha256(suite_bytes).hexdigest() == owner["version"]
    # Every result line, including the output kept in a blob.
    base = f"runs/{run.row_key}"
    lines = [json.loads(line) for line in archive.read(f"{base}/results.jsonl").splitlines()]
    stored = list(services.results.all_of_run(owner["tenant"], owner["project"], run.row_key))
    assert len(lines) == len(stored) == 80
    by_key = {(line["target_id"], line["case_id"], line["trial"]): line for line in lines}
    for row in stored:
        line = by_key[(row.target_id, row.case_id, row.trial)]
        assert line["output"] == services.results.read_output(row)
        assert (line["score"], line["passed"], line["latency_ms"], line["cost_usd"]) == (
            row.score,
            row.passed,
            row.latency_ms,
            row.cost_usd,
        )
    # The statistics are the API's.
    statistics = json.loads(archive.read(f"{base}/statistics.json"))
    expected = {k: v.model_dump(mode="json") for k, v in summarize_run(run, stored).items()}
    assert statistics["targets"] == expected
    api_summary = (await client.get(f"{owner['base']}/runs/{run.row_key}/summary", headers=owner["headers"])).json()
    assert statistics["targets"] == api_summary["targets"]
    # Price table version; no credential reference anywhere.
    prices = json.loads(archive.read("prices.json"))
    assert prices["versions_used"] == ["test-prices"]
    assert prices["table"]["version"]
    assert b"crd_" not in data
    assert b"trk_" not in data
    run_doc = json.loads(archive.read(f"{base}/run.json"))
    assert run_doc["price_version"] == "test-prices"
    assert "credential_id" not in run_doc["targets"][0]
    html = archive.read("report.html").decode()
    assert "<svg" in html
    assert "Pareto" in html


async def test_downloads_are_audited(client: httpx.AsyncClient, services: Services, owner: dict[str, Any]) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=5)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    await download(client, owner, export_id)
    await client.get(f"{owner['base']}/exports/{export_id}", headers=owner["headers"])
    as_json = await client.get(
        f"{owner['base']}/exports/{export_id}/download", headers={**owner["headers"], "Accept": "application/json"}
    )
    assert as_json.json()["link"]["url"]
    audit = (await client.get(f"{owner['base']}/audit", headers=owner["headers"])).json()["items"]
    downloads = [e for e in audit if e["action"] == "export.downloaded" and e["target_id"] == export_id]
    assert sorted(e["details"]["via"] for e in downloads) == ["link", "link", "stream"]
    funnel = {record.row_key for record in services.activation.funnel(owner["tenant"])}
    assert {"export_created", "export_downloaded"} <= funnel


async def test_link_reads_the_pack_then_expires(
    client: httpx.AsyncClient, api: FastAPI, services: Services, owner: dict[str, Any]
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=5)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    api.state.export_link_ttl = timedelta(seconds=2)
    link = (await client.get(f"{owner['base']}/exports/{export_id}", headers=owner["headers"])).json()["link"]
    async with httpx.AsyncClient() as outside:
        fresh = await outside.get(link["url"])
        assert fresh.status_code == 200
        assert fresh.content[:2] == b"PK"
        # Without the SAS, the private container refuses an anonymous read of the same name.
        anonymous = await outside.get(link["url"].split("?")[0])
        assert anonymous.status_code in (403, 404, 409)
        await asyncio.sleep(3.5)
        expired = await outside.get(link["url"])
        assert expired.status_code == 403


async def test_default_link_lives_at_most_15_minutes(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=3)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    body = (await client.get(f"{owner['base']}/exports/{export_id}", headers=owner["headers"])).json()
    assert "se=" in body["link"]["url"]
    assert "sp=r" in body["link"]["url"]
    blob = body["link"]["url"].split("?")[0]
    assert owner["tenant"] in blob
    assert owner["project"] in blob
    assert export_id in blob


async def test_tampered_pack_is_refused_naming_the_file(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=5)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    data = await download(client, owner, export_id)
    results = f"runs/{run.row_key}/results.jsonl"
    original = zipfile.ZipFile(io.BytesIO(data))
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w", zipfile.ZIP_DEFLATED) as out:
        for name in original.namelist():
            content = original.read(name)
            if name == results:
                content = content.replace(b'"passed": false', b'"passed": true ', 1)  # one byte's worth of lie
            out.writestr(name, content)
    headers = {**owner["headers"], "Content-Type": "application/zip"}
    refused = await client.post(f"{owner['base']}/imports", content=tampered.getvalue(), headers=headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:tokenroute:problem:pack-refused"
    assert problem["file"] == results
    assert results in problem["detail"]
    # A byte flipped inside the compressed data is refused too (the zip's CRC catches it first).
    raw = bytearray(data)
    offset = data.index(results.encode()) + len(results) + 40
    raw[offset] ^= 0xFF
    flipped = await client.post(f"{owner['base']}/imports", content=bytes(raw), headers=headers)
    assert flipped.status_code == 422
    assert flipped.json()["type"] == "urn:tokenroute:problem:pack-refused"


async def test_import_recreates_the_suite_with_the_same_version(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=5)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    data = await download(client, owner, export_id)
    other = bearer(session_token("user_importer_" + export_id[-8:]))
    project = await create_project(client, other, "imported")
    base = f"/api/v1/projects/{project['id']}"
    imported = await client.post(f"{base}/imports", content=data, headers={**other, "Content-Type": "application/zip"})
    assert imported.status_code == 201, imported.text
    suites = imported.json()["suites"]
    assert [s["versions"] for s in suites] == [[owner["version"]]]
    # Replay: the imported version runs on new targets like any other.
    replay = {
        "suite_id": suites[0]["suite_id"],
        "version": owner["version"],
        "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}],
    }
    started = await client.post(f"{base}/runs", json=replay, headers=other)
    assert started.status_code == 202, started.text


@pytest.mark.parametrize("kind", ["suite", "decision", "project"])
async def test_suite_decision_and_project_packs(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], kind: str
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=30)
    decision = await client.post(
        f"{owner['base']}/route-decisions",
        json={"task": "arith", "evidence": {"runs": [run.row_key]}, "objective": "minimize_cost"},
        headers=owner["headers"],
    )
    assert decision.status_code == 201, decision.text
    subject = {"suite": owner["suite"], "decision": decision.json()["id"], "project": None}[kind]
    body = {"kind": kind} if subject is None else {"kind": kind, "id": subject}
    export_id = await build(client, services, owner, body)
    archive = zipfile.ZipFile(io.BytesIO(await download(client, owner, export_id)))
    names = set(archive.namelist())
    assert f"suites/{owner['suite']}/{owner['version']}.json" in names
    if kind in ("decision", "project"):
        assert f"decisions/{decision.json()['id']}.json" in names
        assert f"runs/{run.row_key}/results.jsonl" in names
        assert "rationale" in archive.read("report.html").decode().lower()


async def test_export_needs_an_existing_subject_and_the_right_role(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    missing = await client.post(
        f"{owner['base']}/exports", json={"kind": "run", "id": "run_abcdefghijklmnopqrst"}, headers=owner["headers"]
    )
    assert missing.status_code == 404
    mismatched = await client.post(
        f"{owner['base']}/exports", json={"kind": "suite", "id": "run_abcdefghijklmnopqrst"}, headers=owner["headers"]
    )
    assert mismatched.status_code == 422
    reader = await create_key(client, owner["headers"], owner["project"], ["runs:read"])
    forbidden = await client.post(f"{owner['base']}/exports", json={"kind": "project"}, headers=bearer(reader["key"]))
    assert forbidden.status_code == 403
    unknown = await client.get(f"{owner['base']}/exports/exp_abcdefghijklmnopqrst", headers=owner["headers"])
    assert unknown.status_code == 404


async def test_another_tenant_cannot_fetch_an_export(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=3)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    attacker = bearer(session_token("user_attacker_" + export_id[-8:]))
    theirs = await create_project(client, attacker, "attacker")
    for path in (
        f"{owner['base']}/exports/{export_id}",
        f"{owner['base']}/exports/{export_id}/download",
        f"/api/v1/projects/{theirs['id']}/exports/{export_id}",
        f"/api/v1/projects/{theirs['id']}/exports/{export_id}/download",
    ):
        response = await client.get(path, headers=attacker)
        assert response.status_code == 404, path


REPLAY_HEADER = "TokenRoute-Replay"


async def _exported_pack(client: httpx.AsyncClient, services: Services, owner: dict[str, Any]) -> tuple[bytes, str]:
    """A run pack of the owner's suite version, and the run id."""
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=5)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    return await download(client, owner, export_id), run.row_key


async def _fresh_project(
    client: httpx.AsyncClient, session_token: TokenFactory, name: str
) -> tuple[dict[str, str], str]:
    """Another person's new, empty project: their headers and its base path."""
    headers = bearer(session_token(f"user_{name}"))
    project = await create_project(client, headers, name)
    return headers, f"/api/v1/projects/{project['id']}"


async def _nothing_in(client: httpx.AsyncClient, headers: dict[str, str], base: str) -> None:
    assert (await client.get(f"{base}/suites", headers=headers)).json()["items"] == []
    assert (await client.get(f"{base}/runs", headers=headers)).json()["items"] == []


async def test_import_with_replay_runs_the_imported_version_on_the_new_targets(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    data, _ = await _exported_pack(client, services, owner)
    headers, base = await _fresh_project(client, session_token, "replayer_" + owner["project"][-8:])
    targets = [
        {"provider": "sandbox", "model": "sandbox/fast-accurate"},
        {"provider": "sandbox", "model": "sandbox/cheap-sloppy", "label": "cheap"},
    ]
    replay = json.dumps({"targets": targets, "trials": 2, "concurrency": 3, "budget_usd": "50"})
    response = await client.post(
        f"{base}/imports", content=data, headers={**headers, "Content-Type": "application/zip", REPLAY_HEADER: replay}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    suite_id = body["suites"][0]["suite_id"]
    started = body["replay"]
    assert (started["suite_id"], started["version"]) == (suite_id, owner["version"])
    assert [(t["provider"], t["model"], t["label"]) for t in started["targets"]] == [
        ("sandbox", "sandbox/fast-accurate", None),
        ("sandbox", "sandbox/cheap-sloppy", "cheap"),
    ]
    assert (started["trials"], started["concurrency"], started["status"]) == (2, 3, "queued")
    assert float(started["estimate"]["total_usd"]) > 0
    # The run is stored like any other: its suite version is the imported one.
    run = (await client.get(f"{base}/runs/{started['id']}", headers=headers)).json()
    assert (run["suite_id"], run["version"]) == (suite_id, owner["version"])
    version = await client.get(f"{base}/suites/{suite_id}/versions/{owner['version']}", headers=headers)
    assert version.status_code == 200


async def test_a_refused_replay_imports_nothing(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    data, _ = await _exported_pack(client, services, owner)
    headers, base = await _fresh_project(client, session_token, "refused_" + owner["project"][-8:])
    sandbox = [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]

    async def post(replay: str) -> httpx.Response:
        return await client.post(f"{base}/imports", content=data, headers={**headers, REPLAY_HEADER: replay})

    over = await post(json.dumps({"targets": sandbox, "budget_usd": "0.000001"}))
    assert over.status_code == 422, over.text
    problem = over.json()
    assert problem["type"] == "urn:tokenroute:problem:budget-exceeded"
    assert problem["errors"][0]["path"] == "header.tokenroute-replay.budget_usd"
    assert float(problem["estimate"]["total_usd"]) > 0.000001
    # A provider target without a credential, as POST .../runs refuses it.
    no_credential = await post(json.dumps({"targets": [{"provider": "openai", "model": "gpt-4o-mini"}]}))
    assert no_credential.status_code == 422
    assert no_credential.json()["errors"][0]["path"] == "header.tokenroute-replay.targets[0].credential_id"
    unknown = await post(json.dumps({"targets": [{"provider": "nobody", "model": "m"}]}))
    assert unknown.json()["errors"][0]["path"] == "header.tokenroute-replay.targets[0].provider"
    other_version = await post(json.dumps({"targets": sandbox, "version": "0" * 64}))
    assert other_version.json()["errors"][0]["path"] == "header.tokenroute-replay.version"
    malformed = await post("{not json")
    assert (malformed.status_code, malformed.json()["type"]) == (422, "urn:tokenroute:problem:validation")
    invalid = await post(json.dumps({"targets": [], "trials": 0}))
    assert {e["path"] for e in invalid.json()["errors"]} == {
        "header.tokenroute-replay.targets",
        "header.tokenroute-replay.trials",
    }
    await _nothing_in(client, headers, base)


async def test_replay_needs_a_caller_who_may_start_runs(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any]
) -> None:
    data, _ = await _exported_pack(client, services, owner)
    reader = await create_key(client, owner["headers"], owner["project"], ["runs:read", "exports:read"])
    replay = json.dumps({"targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]})
    refused = await client.post(
        f"{owner['base']}/imports", content=data, headers={**bearer(reader["key"]), REPLAY_HEADER: replay}
    )
    assert refused.status_code == 403
    writer = await create_key(client, owner["headers"], owner["project"], ["runs:write"])
    allowed = await client.post(
        f"{owner['base']}/imports", content=data, headers={**bearer(writer["key"]), REPLAY_HEADER: replay}
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["replay"]["version"] == owner["version"]


async def test_a_pack_larger_than_the_body_limit_imports(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    data, run_id = await _exported_pack(client, services, owner)
    big = grown_pack(data, f"runs/{run_id}/results.jsonl", extra_lines=26_000)
    assert len(big) > MAX_BODY_BYTES
    headers, base = await _fresh_project(client, session_token, "bigpack_" + owner["project"][-8:])

    async def chunks() -> AsyncIterator[bytes]:
        # Sent in pieces without a Content-Length, as a client streaming a file does.
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    imported = await client.post(f"{base}/imports", content=chunks(), headers=headers)
    assert imported.status_code == 201, imported.text
    assert [s["versions"] for s in imported.json()["suites"]] == [[owner["version"]]]
    # Every other route keeps the 8 MiB limit.
    other = await client.post(f"{base}/suites", content=big, headers={**headers, "Content-Type": "application/json"})
    assert other.status_code == 413


async def test_a_pack_over_the_import_limit_is_refused_with_413(
    settings: Settings, services: Services, owner: dict[str, Any], session_token: TokenFactory
) -> None:
    limit = MAX_BODY_BYTES + 1024 * 1024
    app = create_api(settings, services, max_import_bytes=limit)
    headers = owner["headers"]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as small,
    ):
        declared = await small.post(f"{owner['base']}/imports", content=b"P" * (limit + 1), headers=headers)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert declared.json()["type"] == "urn:tokenroute:problem:payload-too-large"
        assert str(limit) in declared.json()["detail"]

        async def endless() -> AsyncIterator[bytes]:
            # No Content-Length: the limit is found while the body streams in, and the route stops reading.
            for _ in range(limit // (1024 * 1024) + 4):
                yield b"P" * (1024 * 1024)

        streamed = await small.post(f"{owner['base']}/imports", content=endless(), headers=headers)
        assert streamed.status_code == 413
        assert streamed.json()["type"] == "urn:tokenroute:problem:payload-too-large"
        suites = (await small.get(f"{owner['base']}/suites", headers=headers)).json()["items"]
        assert [s["id"] for s in suites] == [owner["suite"]]


async def _expired_answers(client: httpx.AsyncClient, owner: dict[str, Any], export_id: str) -> None:
    """GET says `expired` with no link; the download is 410 Gone."""
    status = (await client.get(f"{owner['base']}/exports/{export_id}", headers=owner["headers"])).json()
    assert (status["status"], status["link"]) == ("expired", None)
    assert status["expired_at"] is not None
    gone = await client.get(f"{owner['base']}/exports/{export_id}/download", headers=owner["headers"])
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"] == "urn:tokenroute:problem:expired"


async def test_a_pack_is_deleted_when_its_lifetime_ends(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], clock: MovableClock
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=3)
    export_id = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    record = services.exports.find(owner["tenant"], owner["project"], export_id)
    assert record is not None
    assert record.ready_at is not None

    clock.current = record.ready_at + PACK_LIFETIME - timedelta(minutes=1)
    assert export_id not in {e.export_id for e in expire_lifetime(services.exports, services.audit, clock.now())}
    assert services.exports.packs.exists(record.blob)
    await download(client, owner, export_id)

    clock.advance(timedelta(minutes=2))
    expired = expire_lifetime(services.exports, services.audit, clock.now())
    assert Expired(owner["tenant"], owner["project"], export_id) in expired
    assert not services.exports.packs.exists(record.blob)
    await _expired_answers(client, owner, export_id)
    # Once is enough: a second sweep finds nothing of it.
    again = expire_lifetime(services.exports, services.audit, clock.now())
    assert export_id not in {e.export_id for e in again}
    audit = (await client.get(f"{owner['base']}/audit", headers=owner["headers"])).json()["items"]
    expiries = [e for e in audit if e["action"] == "export.expired" and e["target_id"] == export_id]
    assert [e["details"]["reason"] for e in expiries] == ["lifetime"]


async def test_project_retention_deletes_older_packs_sooner(
    client: httpx.AsyncClient, services: Services, owner: dict[str, Any], clock: MovableClock
) -> None:
    run = seed_suite_run(services, owner["tenant"], owner["project"], owner["suite"], owner["version"], cases=3)
    old = await build(client, services, owner, {"kind": "run", "id": run.row_key})
    clock.advance(timedelta(days=5))
    young = await build(client, services, owner, {"kind": "suite", "id": owner["suite"]})
    patched = await client.patch(
        f"/api/v1/projects/{owner['project']}", json={"retention_days": 7}, headers=owner["headers"]
    )
    assert patched.status_code == 200, patched.text

    clock.advance(timedelta(days=2, hours=1))  # old is 7 days and an hour old, young 2 days
    counts = services.retention.sweep_all()[(owner["tenant"], owner["project"])]
    assert counts.exports == [old]
    await _expired_answers(client, owner, old)
    assert (await client.get(f"{owner['base']}/exports/{young}", headers=owner["headers"])).json()["status"] == "ready"
    audit = (await client.get(f"{owner['base']}/audit", headers=owner["headers"])).json()["items"]
    applied = [e for e in audit if e["action"] == "retention.applied"]
    assert applied[0]["details"]["exports"] == [old]
    assert {e["details"]["reason"] for e in audit if e["action"] == "export.expired"} == {"retention"}
