"""Work still under way while its project is deleted. A running shard stops storing as soon as a flush
finds its run gone, and the cascade's second pass (a grace period after the first) removes whatever a
flush already under way wrote: afterwards nothing of the project is stored anywhere. A pack whose
export row went during its build is removed rather than left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from shared.exports.builder import handle
from shared.exports.models import ExportMessage
from shared.runs.models import ShardMessage
from shared.runs.results import result_partition
from shared.services import Services
from shared.storage import blob_path
from shared.storage.catalog import AUDIT_TABLE, DELETIONS_TABLE
from tests.conftest import MovableClock
from tests.lifecycle.conftest import populate
from tests.lifecycle.scan import mentions, secrets_of, take_deletion_message
from tests.support.api import create_project

CASES = 100  # one shard
SLOW = {"provider": "sandbox", "model": "sandbox/fast-accurate", "sandbox": {"latency_ms": 150, "latency_p95_ms": 200}}


async def _until(condition: object, what: str, within_s: float = 30) -> None:
    for _ in range(int(within_s / 0.05)):
        if callable(condition) and await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_shard_running_through_its_projects_deletion_leaves_nothing(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], clock: MovableClock
) -> None:
    project = (await create_project(client, owner, "racing"))["id"]
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]
    base = f"/api/v1/projects/{project}"
    suite = (await client.post(f"{base}/suites", json={"name": "race"}, headers=owner)).json()["id"]
    cases = {"cases": [{"id": f"c{i:03d}", "template": f"{i}+{i}?", "expected": str(2 * i)} for i in range(CASES)]}
    version = (await client.post(f"{base}/suites/{suite}/versions", json=cases, headers=owner)).json()["version"]
    body = {"suite_id": suite, "version": version, "targets": [SLOW], "concurrency": 2}
    started = await client.post(f"{base}/runs", json=body, headers=owner)
    assert started.status_code == 202, started.text
    run = started.json()["id"]
    [shard] = services.runs.shards_of(tenant, project, run)
    message = ShardMessage(tenant_id=tenant, project_id=project, run_id=run, shard_id=shard.row_key)
    worker = asyncio.create_task(services.shard_worker.handle(message))

    def stored() -> int:
        return sum(s.done for s in services.runs.shards_of(tenant, project, run))

    await _until(lambda: stored() >= 4, "the shard to store its first results")
    assert (await client.delete(base, headers=owner)).status_code == 204
    deletion = take_deletion_message(services, project)
    # The shard is still calling the sandbox and flushing while the first pass deletes.
    assert not worker.done()
    first = await asyncio.to_thread(services.purger.handle, deletion)
    assert first is not None
    assert first.counts["table:results"] >= 4

    await asyncio.wait_for(worker, 60)
    # Its end was not recorded either: a shard row written now would outlive the cascade.
    assert services.runs.shards_of(tenant, project, run) == []
    # A flush whose check came just before the run row went, landing only now: the second pass takes it.
    partition = result_partition(tenant, project, run, shard.row_key)
    services.results.table.table.upsert({"PartitionKey": partition, "RowKey": "late~000", "status": "ok"})
    services.results.outputs.put(blob_path(tenant, project, run, shard.row_key, "late.txt"), b"late output")
    clock.advance(services.purger.settle)
    done = await asyncio.to_thread(services.purger.handle, deletion)
    assert done is not None
    assert done.completed_at is not None
    assert set(mentions(services, project)) <= {f"table:{AUDIT_TABLE}", f"table:{DELETIONS_TABLE}"}
    assert mentions(services, run) == []
    assert not secrets_of(services, tenant, project)
    # It stopped early rather than running the rest of its cases into the void.
    assert done.counts["table:results"] < CASES
    assert done.counts["blobs:outputs"] == 1


async def test_a_pack_built_while_its_project_is_deleted_is_removed(
    client: httpx.AsyncClient, services: Services, owner: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await populate(client, services, owner, "packing")
    body = {"kind": "run", "id": ids["seeded_run"]}
    created = await client.post(f"/api/v1/projects/{ids['project']}/exports", json=body, headers=owner)
    assert created.status_code == 202, created.text
    export = services.exports.find(ids["tenant"], ids["project"], created.json()["id"])
    assert export is not None
    put = services.exports.packs.put

    def put_then_cascade(*args: Any, **kwargs: Any) -> Any:
        uploaded = put(*args, **kwargs)
        # The cascade's `exports` step passes between the upload and the row's `ready`.
        services.exports.table.delete(export.partition_key, export.row_key)
        return uploaded

    monkeypatch.setattr(services.exports.packs, "put", put_then_cascade)
    message = ExportMessage(tenant_id=ids["tenant"], project_id=ids["project"], export_id=export.row_key)
    assert await asyncio.to_thread(handle, services, message) is None
    assert not services.exports.packs.exists(export.blob)
