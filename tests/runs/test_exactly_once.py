"""At-least-once delivery, exactly-once effects: no item is billed twice, no run hangs."""

from __future__ import annotations

import signal
from collections.abc import Mapping

from shared.devhost.openai_standin import OpenAIStandIn
from shared.runs.launch import Launcher
from shared.runs.models import RunCreate, ShardMessage
from shared.runs.results import ResultStore
from shared.storage import QueueSender
from shared.storage.catalog import RUN_SHARDS_QUEUE, SUITES_CONTAINER
from tests.support.stack import Stack, StackFactory, get_run, new_suite, questions, start_run, wait_for_end, wait_until


def stored_cases(stack: Stack, run_id: str) -> set[str]:
    rows = ResultStore(stack.services.storage).all_of_run(stack.seeded.tenant_id, stack.project, run_id)
    return {row.case_id for row in rows}


def prompt_of(case_id: str) -> str:
    return f"Question {int(case_id[1:])}:"


def test_a_duplicate_shard_message_bills_nothing_again(stack: Stack, standin: OpenAIStandIn) -> None:
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(30))
    target = {"provider": "openai", "model": "gpt-4o-mini", "credential_id": credential}
    run = start_run(stack, {"suite_id": suite, "version": version, "targets": [target]})
    assert wait_for_end(stack, run["id"])["status"] == "completed"
    assert standin.total == 30

    # The queue delivers the same shard again (at least once): nothing is called twice.
    sender = QueueSender(stack.services.storage, RUN_SHARDS_QUEUE)
    duplicate = ShardMessage(
        tenant_id=stack.seeded.tenant_id, project_id=stack.project, run_id=run["id"], shard_id="t00-000000"
    )
    for _ in range(2):
        sender.send(duplicate)
    wait_until(lambda: stack.host.log().count("Functions.run_shard' (Succeeded") >= 3, 20, "both duplicates handled")
    assert standin.total == 30
    assert all(n == 1 for n in standin.calls.values())
    assert get_run(stack, run["id"])["progress"]["items_done"] == 30


def test_a_worker_killed_mid_shard_resumes_without_calling_finished_items(
    make_stack: StackFactory, standin: OpenAIStandIn
) -> None:
    # A short lease: the message of the killed worker becomes visible again quickly.
    stack = make_stack(TOKENROUTE_DEVHOST_LEASE_SECONDS="2", TOKENROUTE_DEVHOST_RENEW_SECONDS="0.5")
    standin.behaviour.latency_s = 0.15
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(25))
    target = {"provider": "openai", "model": "gpt-4o-mini", "credential_id": credential}
    run = start_run(stack, {"suite_id": suite, "version": version, "targets": [target], "concurrency": 2})

    def six_stored() -> set[str] | None:
        cases = stored_cases(stack, run["id"])
        return cases if len(cases) >= 6 else None

    finished_before = wait_until(six_stored, 30, "six stored results")
    stack.host.signal(signal.SIGKILL)
    stack.host.wait(10)
    stack.restart()

    assert wait_for_end(stack, run["id"])["status"] == "completed"
    assert stored_cases(stack, run["id"]) == {f"q{i:03d}" for i in range(25)}
    for case_id in finished_before:
        assert standin.count_for(prompt_of(case_id)) == 1, f"{case_id} was called again after the restart"
    # Only items that were not stored at the kill (in flight, or answered but not yet flushed) were
    # called again, each at most once more.
    called_again = {f"q{i:03d}" for i in range(25) if standin.count_for(prompt_of(f"q{i:03d}")) > 1}
    assert not called_again & finished_before
    assert all(standin.count_for(prompt_of(case)) == 2 for case in called_again)


def test_a_shard_that_always_fails_ends_in_poison_and_the_run_ends_partial(stack: Stack) -> None:
    suite, version = new_suite(stack, questions(30))
    target = {
        "provider": "sandbox",
        "model": "sandbox/fast-accurate",
        "sandbox": {"latency_ms": 1, "latency_p95_ms": 2},
    }
    # With the worker stopped, accept the run, then damage the suite version it reads: every delivery
    # of its shards fails, until the messages land in the poison queue.
    stack.host.kill()
    run = start_run_in_process(stack, suite, version, [target, {**target, "model": "sandbox/cheap-sloppy"}])
    blob = f"{stack.seeded.tenant_id}/{stack.project}/{suite}/{version}.json"
    stack.services.storage.blob_service.get_container_client(SUITES_CONTAINER).upload_blob(
        blob, b'{"tampered": true}', overwrite=True
    )
    stack.host.start()
    ended = wait_for_end(stack, run, within_s=60)
    assert ended["status"] == "failed"
    assert ended["status_reason"] == "every shard failed"
    assert ended["progress"]["shards_done"] == ended["progress"]["shards_total"] == 2
    assert "run_shard_poison" in stack.host.log()


def start_run_in_process(stack: Stack, suite: str, version: str, targets: list[Mapping[str, object]]) -> str:
    launcher = Launcher(stack.services.suites, stack.services.credentials, stack.services.runs, stack.services.clock)
    request = RunCreate.model_validate({"suite_id": suite, "version": version, "targets": targets})
    prices = stack.services.prices(stack.seeded.tenant_id, stack.project)
    record, _ = launcher.start(stack.seeded.tenant_id, stack.project, request, "tests", prices)
    return record.row_key
