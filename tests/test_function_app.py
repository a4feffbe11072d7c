"""The real Function App (`function_app:app`) served by the local host, end to end over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from shared.config import load_settings
from shared.devhost.azurite import PROJECT_ROOT, Azurite
from shared.services import Services
from shared.tenancy.dev_seed import seed_dev_tenant
from tests.conftest import settings_environ
from tests.support.devhost_process import DevHostProcess


def test_function_app_serves_health_problems_and_the_dev_key(
    azurite: Azurite, devhost: Callable[..., DevHostProcess], tmp_path: Path
) -> None:
    environ = settings_environ(azurite.connection_string, LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"))
    seeded = seed_dev_tenant(Services(load_settings(environ, local_settings=None)), tmp_path / "dev.json")
    again = seed_dev_tenant(Services(load_settings(environ, local_settings=None)), tmp_path / "dev.json")
    assert again == seeded  # restarting reuses the key that still works

    host = devhost("function_app:app", **environ)
    base = f"http://127.0.0.1:{host.port}/api"
    with httpx.Client(timeout=10) as client:
        health = client.get(f"{base}/health")
        assert health.status_code == 200, health.text
        assert {name: store["ok"] for name, store in health.json()["stores"].items()} == {
            "tables": True,
            "blobs": True,
            "queues": True,
        }
        assert health.headers["x-request-id"]

        missing = client.get(f"{base}/nope", params={"q": "x"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["request_id"] == missing.headers["x-request-id"]

        me = client.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {seeded.api_key}"})
        assert me.status_code == 200, me.text
        assert me.json()["project_id"] == seeded.project_id

        assert "/api/v1/projects" in client.get(f"{base}/openapi.json").json()["paths"]


def test_function_app_refuses_to_start_with_bad_settings() -> None:
    environ = {
        "PATH": "/usr/bin:/bin",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TOKENROUTE_ENV": "prod",
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": "not-a-key",
    }
    result = subprocess.run(
        [sys.executable, "-m", "shared.devhost", "--app", "function_app:app", "--port", "0",
         "--local-settings", "/nonexistent/local.settings.json"],
        cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    message = json.loads(result.stderr.strip().splitlines()[-1])["message"]
    assert "LOCAL_SECRETS_KEY: must be 32 random bytes" in message
    assert "not-a-key" not in message


def test_function_app_freezes_what_it_builds_at_import(azurite: Azurite, tmp_path: Path) -> None:
    # Frozen objects are skipped by the collector's full passes (long GIL-held pauses mid-run otherwise).
    environ = settings_environ(azurite.connection_string, LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"))
    probe = "import gc, function_app; print(gc.get_freeze_count())"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    assert int(result.stdout.strip().splitlines()[-1]) > 50_000
