"""The real Function App in a local host process, driven over HTTP, for end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.credentials.store import CredentialDetails
from shared.devhost.openai_standin import OpenAIStandIn
from shared.services import Services
from shared.tenancy.dev_seed import DevTenant
from tests.support.devhost_process import DevHostProcess


@dataclass
class Stack:
    """The host process, a client authenticated as the project's admin key, and in-process services."""

    host: DevHostProcess
    client: httpx.Client
    seeded: DevTenant
    services: Services
    restart: Callable[[], None]

    @property
    def project(self) -> str:
        """The project the key belongs to."""
        return self.seeded.project_id

    def url(self, path: str) -> str:
        """A project-scoped API path."""
        return f"/api/v1/projects/{self.project}{path}"

    def credential(self, standin: OpenAIStandIn, provider: str = "openai") -> str:
        """A credential pointing at the stand-in, stored the way the API stores it."""
        record = self.services.credentials.create(
            self.seeded.tenant_id,
            self.project,
            CredentialDetails(provider=provider, name="stand-in", base_url=standin.base_url),
            "sk-test-standin-key-0123456789",
            "tests",
        )
        return record.row_key


StackFactory = Callable[..., Stack]


def new_suite(stack: Stack, content: dict[str, Any]) -> tuple[str, str]:
    """Create a suite with one version; returns (suite id, version)."""
    suite = stack.client.post(stack.url("/suites"), json={"name": "test"})
    assert suite.status_code == 201, suite.text
    version = stack.client.post(stack.url(f"/suites/{suite.json()['id']}/versions"), json=content)
    assert version.status_code == 201, version.text
    return suite.json()["id"], version.json()["version"]


def questions(n: int) -> dict[str, Any]:
    """A suite of n multiple-choice cases whose prompts are distinct (`Question <i>:`)."""
    cases = [
        {"id": f"q{i:03d}", "template": "Question {{n}}: pick A, B, C or D.", "vars": {"n": i},
         "expected": "ABCD"[i % 4], "scorers": [{"type": "choice"}]}
        for i in range(n)
    ]  # fmt: skip
    return {"description": "multiple choice", "cases": cases}


def start_run(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """POST a run and return the 202 answer."""
    response = stack.client.post(stack.url("/runs"), json=body)
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


def get_run(stack: Stack, run_id: str) -> dict[str, Any]:
    """The run with its progress."""
    run: dict[str, Any] = stack.client.get(stack.url(f"/runs/{run_id}")).json()
    return run


def wait_for_end(stack: Stack, run_id: str, within_s: float = 60) -> dict[str, Any]:
    """Poll until the run is no longer queued or running."""
    deadline = time.monotonic() + within_s
    while True:
        run = get_run(stack, run_id)
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, f"run still {run['status']}: {run['progress']}"
        time.sleep(0.2)


def wait_until(condition: Callable[[], Any], within_s: float, what: str) -> Any:
    """Poll `condition` until it is truthy."""
    deadline = time.monotonic() + within_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
