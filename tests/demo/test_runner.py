"""The demo `make run` runs: the bundled suite through the real pipeline, printed as a leaderboard."""

from __future__ import annotations

import asyncio
import io

import pytest

from shared.cli.output import leaderboard, progress_bar
from shared.demo.runner import SANDBOX_TARGETS, demo_suite, run_demo
from shared.suites.models import parse_content
from tests.support.stack import Stack, get_run


def test_the_bundled_suite_is_valid() -> None:
    content = parse_content(demo_suite())
    assert len(content.cases) == 35
    assert {tag for case in content.cases for tag in case.tags} == {"multiple-choice", "arithmetic", "extraction"}


def test_progress_bar() -> None:
    assert progress_bar(0, 10, 0, width=10) == "  [..........]    0/10 items"
    assert progress_bar(5, 10, 1, width=10) == "  [#####.....]    5/10 items, 1 error"
    assert progress_bar(10, 10, 2, width=10) == "  [##########]   10/10 items, 2 errors"


def test_the_demo_runs_end_to_end(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    fast = {"latency_ms": 5, "latency_p95_ms": 10}
    targets = [{**t, "sandbox": fast} for t in SANDBOX_TARGETS]
    out = io.StringIO()
    base_url = f"http://127.0.0.1:{stack.host.port}/api"
    api_key = stack.client.headers["Authorization"].removeprefix("Bearer ")
    run_id = asyncio.run(run_demo(base_url, api_key, out=out, poll_s=0.2, sandbox_targets=targets))
    text = out.getvalue()
    assert get_run(stack, run_id)["status"] == "completed"
    assert "105/105 items" in text
    assert "Leaderboard" in text
    for target in SANDBOX_TARGETS:
        assert str(target["label"]) in text
    assert "pass rate" in text.split("Leaderboard")[1]
    # A second demo reuses the suite and its version (same content, same version).
    asyncio.run(run_demo(base_url, api_key, out=io.StringIO(), poll_s=0.2, sandbox_targets=targets))
    suites = stack.client.get(stack.url("/suites")).json()["items"]
    assert len(suites) == 1
    assert suites[0]["version_count"] == 1


def test_leaderboard_ranks_by_pass_rate() -> None:
    def stats(rate: float, p50: float) -> dict[str, object]:
        interval = {"value": rate, "low": rate - 0.1, "high": min(1.0, rate + 0.1), "confidence": 0.95}
        return {
            "pass_rate": interval,
            "mean_score": interval,
            "latency_p50_ms": p50,
            "latency_p95_ms": p50 * 2,
            "cost_per_case": None,
            "errors": 0,
        }

    summary = {
        "targets": {"t00": stats(0.5, 100), "t01": stats(0.9, 300)},
        "labels": {"t00": "worse", "t01": "better"},
    }
    table = leaderboard(summary).splitlines()
    assert table[4].startswith("better")
    assert table[5].startswith("worse")
    assert "unpriced" in table[4]
