"""Fixtures of the run tests: the real Function App in the local host, and a development key for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.config import load_settings
from shared.devhost.azurite import Azurite
from shared.services import Services
from shared.tenancy.dev_seed import seed_dev_tenant
from tests.conftest import settings_environ
from tests.support.devhost_process import DevHostProcess


@dataclass
class Stack:
    """The host process, a client authenticated as the project's admin key, and in-process services."""

    host: DevHostProcess
    client: httpx.Client
    project: str
    services: Services

    def url(self, path: str) -> str:
        """A project-scoped API path."""
        return f"/api/v1/projects/{self.project}{path}"


@pytest.fixture
def stack(azurite: Azurite, devhost: Callable[..., DevHostProcess], tmp_path: Path) -> Iterator[Stack]:
    """`function_app:app` in a local host process, with queues, and a seeded project and key."""
    environ = settings_environ(azurite.connection_string, LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"))
    services = Services(load_settings(environ, local_settings=None))
    seeded = seed_dev_tenant(services, tmp_path / "dev.json")
    host = devhost("function_app:app", **environ)
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{host.port}", headers=headers, timeout=30) as client:
        yield Stack(host=host, client=client, project=seeded.project_id, services=services)


def new_suite(stack: Stack, content: dict[str, Any]) -> tuple[str, str]:
    """Create a suite with one version; returns (suite id, version)."""
    suite = stack.client.post(stack.url("/suites"), json={"name": "test"})
    assert suite.status_code == 201, suite.text
    version = stack.client.post(stack.url(f"/suites/{suite.json()['id']}/versions"), json=content)
    assert version.status_code == 201, version.text
    return suite.json()["id"], version.json()["version"]
