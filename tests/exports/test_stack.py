"""End to end through the real Function App: a sandbox run, its export built by the queue job, the link."""

from __future__ import annotations

import io
import time

import httpx

from shared.exports.models import ExportMessage
from shared.exports.verify import verify_pack
from tests.support.stack import Stack, new_suite, questions, start_run, wait_for_end, wait_until


def test_queue_job_builds_the_pack_once(stack: Stack) -> None:
    suite, version = new_suite(stack, questions(12))
    run = start_run(
        stack,
        {"suite_id": suite, "version": version, "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]},
    )
    assert wait_for_end(stack, run["id"])["status"] == "completed"
    created = stack.client.post(stack.url("/exports"), json={"kind": "run", "id": run["id"]})
    assert created.status_code == 202, created.text
    export_id = created.json()["id"]

    def ready() -> dict[str, object] | None:
        body: dict[str, object] = stack.client.get(stack.url(f"/exports/{export_id}")).json()
        return body if body["status"] == "ready" else None

    first = wait_until(ready, 60, "the export to be ready")
    pack = httpx.get(first["link"]["url"], timeout=30)
    assert pack.status_code == 200
    verified = verify_pack(io.BytesIO(pack.content))
    assert f"runs/{run['id']}/results.jsonl" in verified.paths("runs/")
    assert len(verified.read(f"runs/{run['id']}/results.jsonl").splitlines()) == 12

    # A second delivery of the same message leaves the finished export as it was.
    message = ExportMessage(tenant_id=stack.seeded.tenant_id, project_id=stack.project, export_id=export_id)
    stack.services.exports.queue.send(message)
    time.sleep(3)
    again = stack.client.get(stack.url(f"/exports/{export_id}")).json()
    assert (again["sha256"], again["ready_at"]) == (first["sha256"], first["ready_at"])
