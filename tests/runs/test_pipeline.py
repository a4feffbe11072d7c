"""A run end to end: HTTP, queue, worker, tables, statistics (sandbox models, real local host)."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack, new_suite, questions, wait_for_end


def fast(model: str, **params: Any) -> dict[str, Any]:
    return {"provider": "sandbox", "model": model, "sandbox": {"latency_ms": 5, "latency_p95_ms": 10, **params}}


def test_a_run_goes_through_the_pipeline(stack: Stack) -> None:
    suite, version = new_suite(stack, questions(60))
    response = stack.client.post(
        stack.url("/runs"),
        json={
            "suite_id": suite,
            "version": version,
            "targets": [fast("sandbox/fast-accurate", accuracy=0.95), fast("sandbox/cheap-sloppy", accuracy=0.5)],
            "concurrency": 8,
        },
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "queued"
    assert created["estimate"]["price_version"]
    run = wait_for_end(stack, created["id"])
    assert run["status"] == "completed", run
    assert run["progress"]["items_done"] == run["progress"]["items_total"] == 120

    summary = stack.client.get(stack.url(f"/runs/{created['id']}/summary")).json()
    good, sloppy = summary["targets"]["t00"], summary["targets"]["t01"]
    assert good["n"] == sloppy["n"] == 60
    assert good["pass_rate"]["value"] > sloppy["pass_rate"]["value"]
    assert good["pass_rate"]["low"] <= good["pass_rate"]["value"] <= good["pass_rate"]["high"]

    comparison = stack.client.get(stack.url(f"/runs/{created['id']}/compare"), params={"a": "t00", "b": "t01"})
    assert comparison.status_code == 200, comparison.text
    assert comparison.json()["n_shared"] == 60

    page = stack.client.get(stack.url(f"/runs/{created['id']}/results"), params={"target": "t01", "passed": "false"})
    failed = page.json()["items"]
    assert failed
    assert all(r["target_id"] == "t01" and r["passed"] is False for r in failed)
