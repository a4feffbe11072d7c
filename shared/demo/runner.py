"""The demo benchmark `make run` runs once the stack answers: through the real pipeline, over HTTP.

It pushes the bundled suite (`suite.json`), starts a run against simulated sandbox models, and
against real providers too when their keys are in the environment (OPENAI_API_KEY,
ANTHROPIC_API_KEY, GEMINI_API_KEY), shows progress, then prints the leaderboard with intervals and
the comparison of the two best targets.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from importlib import resources
from typing import Any, TextIO

import httpx

# The table helpers live with the CLI, which prints the same tables; the demo reuses them and
# re-exports them (`x as x`) for the callers that imported them from here.
from shared.cli.output import ProgressPrinter, leaderboard, ranking

SUITE_NAME = "Demo: quick checks"
SANDBOX_TARGETS = [
    {"provider": "sandbox", "model": "sandbox/fast-accurate", "label": "fast-accurate (simulated)"},
    {"provider": "sandbox", "model": "sandbox/cheap-sloppy", "label": "cheap-sloppy (simulated)"},
    {"provider": "sandbox", "model": "sandbox/slow-careful", "label": "slow-careful (simulated)"},
]
# Real providers joined when their key is in the environment: (variable, provider, model).
REAL_PROVIDERS = [
    ("OPENAI_API_KEY", "openai", "gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic", "claude-3-5-haiku-latest"),
    ("GEMINI_API_KEY", "gemini", "gemini-2.0-flash"),
]


class DemoError(RuntimeError):
    """The API refused a step; the message says which and why."""


def demo_suite() -> dict[str, Any]:
    """The bundled suite content."""
    data: dict[str, Any] = json.loads(resources.files("shared.demo").joinpath("suite.json").read_text("utf-8"))
    return data


async def run_demo(
    base_url: str,
    api_key: str | None,
    out: TextIO = sys.stdout,
    poll_s: float = 0.5,
    sandbox_targets: list[dict[str, Any]] | None = None,
) -> str:
    """Run the demo end to end; returns the run id."""
    if api_key is None:
        raise DemoError("the demo needs the development API key (TOKENROUTE_DEV_TENANT=true)")
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as api:
        me = await _call(api, "GET", "/v1/me")
        project = f"/v1/projects/{me['project_id']}"
        suite = await _suite(api, project)
        version = await _call(api, "POST", f"{project}/suites/{suite}/versions", json=demo_suite())
        targets = [*(sandbox_targets or SANDBOX_TARGETS), *await _real_targets(api, project, out)]
        run = await _call(
            api,
            "POST",
            f"{project}/runs",
            json={"suite_id": suite, "version": version["version"], "targets": targets, "concurrency": 8},
        )
        print(f"\nDemo run {run['id']}: {version['case_count']} cases x {len(targets)} targets", file=out)
        print(f"  estimated cost: {run['estimate']['total_usd']} USD (price table {run['price_version']})", file=out)
        final = await _watch(api, f"{project}/runs/{run['id']}", out, poll_s)
        summary = await _call(api, "GET", f"{project}/runs/{run['id']}/summary")
        print(leaderboard(summary), file=out)
        ranked = ranking(summary)
        if len(ranked) >= 2:
            comparison = await _call(
                api, "GET", f"{project}/runs/{run['id']}/compare", params={"a": ranked[0], "b": ranked[1]}
            )
            print(f"\n{comparison['statement']}", file=out)
        print(f"\nRun {final['status']}. Results: {base_url}{project}/runs/{run['id']}/results\n", file=out)
        return str(run["id"])


async def _call(api: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await api.request(method, path, **kwargs)
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
        except ValueError:
            detail = response.text[:200]
        raise DemoError(f"{method} {path} answered {response.status_code}: {detail}")
    return response.json() if response.content else None


async def _suite(api: httpx.AsyncClient, project: str) -> str:
    page = await _call(api, "GET", f"{project}/suites", params={"limit": 200})
    for suite in page["items"]:
        if suite["name"] == SUITE_NAME:
            return str(suite["id"])
    created = await _call(api, "POST", f"{project}/suites", json={"name": SUITE_NAME})
    return str(created["id"])


async def _real_targets(api: httpx.AsyncClient, project: str, out: TextIO) -> list[dict[str, Any]]:
    existing = await _call(api, "GET", f"{project}/credentials", params={"limit": 200})
    by_name = {c["name"]: c["id"] for c in existing["items"]}
    targets = []
    for variable, provider, model in REAL_PROVIDERS:
        key = os.environ.get(variable)
        if not key:
            continue
        name = f"demo {provider}"
        credential = by_name.get(name)
        if credential is None:
            created = await _call(
                api, "POST", f"{project}/credentials", json={"provider": provider, "name": name, "key": key}
            )
            credential = created["id"]
        targets.append({"provider": provider, "model": model, "credential_id": credential})
        print(f"  {variable} found: adding {provider}/{model}", file=out)
    return targets


async def _watch(api: httpx.AsyncClient, path: str, out: TextIO, poll_s: float) -> dict[str, Any]:
    printer = ProgressPrinter(out)
    while True:
        run: dict[str, Any] = await _call(api, "GET", path)
        progress = run["progress"]
        printer.update(progress["items_done"], progress["items_total"], progress["errors"])
        if run["status"] not in ("queued", "running"):
            printer.finish()
            return run
        await asyncio.sleep(poll_s)
