"""In the real Function App (local host with queues): a run reaches `run_completed`, a validation
reaches `credential_validated`, and a queued project deletion is carried out by the host's job
(its first pass; the second, a minute later, only writes the receipt)."""

from __future__ import annotations

from shared.devhost.openai_standin import OpenAIStandIn
from shared.lifecycle.messages import DeletionMessage
from tests.lifecycle.scan import mentions, secrets_of
from tests.support.stack import Stack, new_suite, questions, start_run, wait_for_end, wait_until


def test_the_host_records_activation_and_runs_the_cascade(stack: Stack, standin: OpenAIStandIn) -> None:
    services, tenant, project = stack.services, stack.seeded.tenant_id, stack.project
    suite, version = new_suite(stack, questions(4))
    target = {
        "provider": "sandbox",
        "model": "sandbox/fast-accurate",
        "sandbox": {"latency_ms": 1, "latency_p95_ms": 2},
    }
    run = start_run(stack, {"suite_id": suite, "version": version, "targets": [target]})
    assert wait_for_end(stack, run["id"])["status"] == "completed"
    credential = stack.credential(standin)
    assert stack.client.post(stack.url(f"/credentials/{credential}/validate")).status_code == 202

    def funnel() -> set[str]:
        return {row.row_key for row in services.activation.funnel(tenant)}

    wait_until(lambda: {"run_started", "run_completed", "credential_validated"} <= funnel(), 30, "activation events")

    # What the DELETE route does (the stack's caller is an API key, which may not delete projects).
    record = services.projects.find(tenant, project)
    assert record is not None
    services.projects.delete(record, "tests")
    services.deletion_queue.send(DeletionMessage(tenant_id=tenant, resource_id=project))
    # The first pass deletes everything; the receipt follows a minute later, after the second pass.
    tombstone = wait_until(
        lambda: (t := services.projects.deletions.find(tenant, project)) and t.swept_at and t, 30, "the cascade"
    )
    assert tombstone.counts["table:results"] == 4
    assert set(mentions(services, project)) <= {"table:audit", "table:deletions"}
    assert not secrets_of(services, tenant, project)
