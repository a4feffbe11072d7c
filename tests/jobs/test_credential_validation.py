"""Credential validation end to end: the real Function App in the local host, its queue function calling a
provider stand-in on 127.0.0.1, and the raw keys nowhere but the secret backend."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.config import load_settings
from shared.devhost.azurite import Azurite, free_ports
from shared.secrets import SecretRef
from shared.services import Services
from shared.tenancy.dev_seed import DevTenant, seed_dev_tenant
from tests.conftest import settings_environ
from tests.credentials.provider_standin import ProviderStandIn
from tests.support.devhost_process import DevHostProcess
from tests.support.storage_scan import stored_text


@dataclass
class Stack:
    """The host process, a client with the project's admin key, and in-process services on the same storage."""

    host: DevHostProcess
    client: httpx.Client
    seeded: DevTenant
    services: Services

    def url(self, path: str) -> str:
        """A project-scoped API path."""
        return f"/api/v1/projects/{self.seeded.project_id}{path}"


@pytest.fixture
def stack(azurite: Azurite, devhost: Callable[..., DevHostProcess], tmp_path: Path) -> Iterator[Stack]:
    """`function_app:app` in a local host, private endpoints allowed (the stand-in is on 127.0.0.1), logs at DEBUG.

    A copy of the run tests' fixture with the settings this test needs.
    """
    environ = settings_environ(
        azurite.connection_string,
        LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"),
        TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS="true",
        TOKENROUTE_LOG_LEVEL="DEBUG",
    )
    services = Services(load_settings(environ, local_settings=None))
    seeded = seed_dev_tenant(services, tmp_path / "dev.json")
    host = devhost("function_app:app", **environ)
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{host.port}", headers=headers, timeout=30) as client:
        yield Stack(host=host, client=client, seeded=seeded, services=services)


def wait_for_validation(stack: Stack, credential: str, within_s: float = 30) -> dict[str, Any]:
    """Poll the credential until the requested validation has reported back."""
    deadline = time.monotonic() + within_s
    while True:
        body: dict[str, Any] = stack.client.get(stack.url(f"/credentials/{credential}")).json()
        if not body["validation_pending"]:
            return body
        assert time.monotonic() < deadline, f"credential still pending: {body}"
        time.sleep(0.2)


def test_the_queue_function_validates_credentials_and_the_key_stays_secret(stack: Stack) -> None:
    good, bad, lost = ("sk-proj-" + secrets.token_urlsafe(32) for _ in range(3))
    answers: list[httpx.Response] = []
    with ProviderStandIn({good}) as provider:
        cases = {
            "valid": (good, provider.url("/v1")),
            "invalid": (bad, provider.url("/v1")),
            "unreachable": (lost, f"http://127.0.0.1:{free_ports(1)[0]}/v1"),
        }
        ids: dict[str, str] = {}
        for expected, (key, base_url) in cases.items():
            body = {"provider": "openai", "name": expected, "key": key, "base_url": base_url}
            created = stack.client.post(stack.url("/credentials"), json=body)
            assert created.status_code == 201, created.text
            assert created.json()["validation_state"] == "unvalidated"
            ids[expected] = created.json()["id"]
            accepted = stack.client.post(stack.url(f"/credentials/{ids[expected]}/validate"))
            assert accepted.status_code == 202, accepted.text
            answers.extend([created, accepted])

        results = {expected: wait_for_validation(stack, credential) for expected, credential in ids.items()}
        answers.append(stack.client.get(stack.url("/credentials")))
        assert {expected: r["validation_state"] for expected, r in results.items()} == {
            "valid": "valid",
            "invalid": "invalid",
            "unreachable": "unreachable",
        }
        assert results["valid"]["validation_reason"] is None
        assert results["invalid"]["validation_reason"] == (
            "HTTP 401 invalid_api_key: Incorrect API key provided: invalid-*****2345. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        assert results["unreachable"]["validation_reason"].startswith("could not connect (ConnectError")
        # The queue function really called the provider with the keys.
        assert {seen.headers["authorization"] for seen in provider.seen} == {f"Bearer {good}", f"Bearer {bad}"}

    log = stack.host.log()
    # The scan below reads the queue function's own log lines.
    assert f"credential {ids['invalid']} (openai) validated: invalid" in log
    everything = stored_text(stack.services.storage)
    assert ids["valid"] in everything
    for key in (good, bad, lost):
        assert key not in log
        assert key not in everything
        assert all(key not in answer.text for answer in answers)
    tenant, project = stack.seeded.tenant_id, stack.seeded.project_id
    assert stack.services.secrets.get(SecretRef.credential(tenant, project, ids["valid"])) == good
    assert stack.services.secrets.get(SecretRef.credential(tenant, project, ids["unreachable"])) == lost
