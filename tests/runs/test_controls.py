"""Run controls: cancel, retry-errors, the budget, and a storm of 429s."""

from __future__ import annotations

import time

from shared.devhost.openai_standin import OpenAIStandIn
from tests.support.stack import Stack, get_run, new_suite, questions, start_run, wait_for_end, wait_until


def openai_target(credential: str, **params: object) -> dict[str, object]:
    return {"provider": "openai", "model": "gpt-4o-mini", "credential_id": credential, "params": params}


def test_cancel_stops_new_provider_calls_within_seconds(stack: Stack, standin: OpenAIStandIn) -> None:
    standin.behaviour.latency_s = 0.2
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(100))
    run = start_run(
        stack, {"suite_id": suite, "version": version, "targets": [openai_target(credential)], "concurrency": 2}
    )
    wait_until(lambda: standin.total >= 4, 20, "some calls")
    response = stack.client.post(stack.url(f"/runs/{run['id']}/cancel"))
    assert response.status_code == 202
    cancelled_at = time.monotonic()
    ended = wait_for_end(stack, run["id"], within_s=20)
    assert time.monotonic() - cancelled_at < 10
    assert ended["status"] == "cancelled"
    calls_at_end = standin.total
    assert calls_at_end < 100
    time.sleep(1.5)
    assert standin.total == calls_at_end  # nothing more after the end
    # What finished before the cancel is kept.
    assert ended["progress"]["items_done"] >= 4


def test_retry_errors_reruns_only_the_failed_items(stack: Stack, standin: OpenAIStandIn) -> None:
    standin.behaviour.fail_prompts = {"Question 3:", "Question 17:"}
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(30))
    run = start_run(stack, {"suite_id": suite, "version": version, "targets": [openai_target(credential)]})
    ended = wait_for_end(stack, run["id"])
    assert ended["status"] == "completed"
    assert ended["progress"]["errors"] == 2
    errors = stack.client.get(stack.url(f"/runs/{run['id']}/results"), params={"errors": "true"}).json()["items"]
    assert {e["case_id"] for e in errors} == {"q003", "q017"}
    assert all(e["error_kind"] == "transient" and e["retries"] > 0 for e in errors)
    failing = ("Question 3:", "Question 17:")
    before = {prompt: n for prompt, n in standin.calls.items() if not any(f in prompt for f in failing)}

    standin.behaviour.fail_prompts = set()
    assert stack.client.post(stack.url(f"/runs/{run['id']}/retry-errors")).status_code == 202
    again = wait_for_end(stack, run["id"])
    assert again["status"] == "completed"
    assert again["progress"]["errors"] == 0
    assert again["progress"]["items_done"] == 30
    fixed = stack.client.get(stack.url(f"/runs/{run['id']}/results"), params={"case": "q003"}).json()["items"]
    assert fixed[0]["status"] == "ok"
    assert fixed[0]["attempts"] == 2
    # The other 28 items were not called again.
    assert {prompt: n for prompt, n in standin.calls.items() if prompt in before} == before


def test_retry_errors_while_running_is_a_conflict(stack: Stack, standin: OpenAIStandIn) -> None:
    standin.behaviour.latency_s = 0.3
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(20))
    run = start_run(
        stack, {"suite_id": suite, "version": version, "targets": [openai_target(credential)], "concurrency": 1}
    )
    response = stack.client.post(stack.url(f"/runs/{run['id']}/retry-errors"))
    assert response.status_code == 409
    stack.client.post(stack.url(f"/runs/{run['id']}/cancel"))


def test_an_estimate_over_budget_is_refused_and_nothing_is_stored(stack: Stack, standin: OpenAIStandIn) -> None:
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(50))
    body = {
        "suite_id": suite,
        "version": version,
        "targets": [openai_target(credential, max_tokens=4000)],
        "budget_usd": "0.01",
    }
    response = stack.client.post(stack.url("/runs"), json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:tokenroute:problem:budget-exceeded"
    assert problem["errors"][0]["path"] == "body.budget_usd"
    assert float(problem["estimate"]["total_usd"]) > 0.01
    assert stack.client.get(stack.url("/runs")).json()["items"] == []
    assert standin.total == 0


def test_the_budget_cap_stops_a_run_that_spends_more_than_estimated(stack: Stack, standin: OpenAIStandIn) -> None:
    # The provider reports far more output than max_tokens allows: the estimate fits, the spending does not.
    standin.behaviour.output_tokens = 200_000
    standin.behaviour.latency_s = 0.05
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(100))
    body = {
        "suite_id": suite,
        "version": version,
        "targets": [openai_target(credential, max_tokens=1)],
        "budget_usd": "0.30",
        "concurrency": 2,
    }
    run = start_run(stack, body)
    ended = wait_for_end(stack, run["id"], within_s=40)
    assert ended["status"] == "partial"
    assert ended["status_reason"] == "budget exhausted"
    assert ended["progress"]["items_done"] < 100
    # 200k output tokens of gpt-4o-mini cost 0.12 USD per call: the cap let only a few through.
    assert standin.total < 20


def test_a_storm_of_429s_slows_the_run_and_it_still_finishes(stack: Stack, standin: OpenAIStandIn) -> None:
    standin.behaviour.rate_limit_first = 40
    credential = stack.credential(standin)
    suite, version = new_suite(stack, questions(30))
    run = start_run(stack, {"suite_id": suite, "version": version, "targets": [openai_target(credential)]})
    ended = wait_for_end(stack, run["id"], within_s=60)
    assert ended["status"] == "completed"
    assert ended["progress"]["errors"] == 0
    summary = stack.client.get(stack.url(f"/runs/{run['id']}/summary")).json()["targets"]["t00"]
    assert summary["retries_total"] >= 40 - 8  # the limiter may have held some calls back instead of retrying
    assert standin.total == 30 + summary["retries_total"]
    assert get_run(stack, run["id"])["progress"]["items_done"] == 30


def test_a_credential_is_only_used_with_its_own_provider(stack: Stack, standin: OpenAIStandIn) -> None:
    credential = stack.credential(standin, provider="openai")
    suite, version = new_suite(stack, questions(3))
    target = {"provider": "mistral", "model": "mistral-small-latest", "credential_id": credential}
    response = stack.client.post(stack.url("/runs"), json={"suite_id": suite, "version": version, "targets": [target]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body.targets[0].credential_id"
    assert "for openai" in response.json()["errors"][0]["message"]
    assert standin.total == 0
