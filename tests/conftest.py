"""Shared fixtures: one Azurite per test session (in memory, free ports) and settings that point at it."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings, load_settings
from shared.devhost.azurite import Azurite, AzuritePorts

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite, started once for the whole session and stopped at the end, on failure too."""
    ARTIFACTS.mkdir(exist_ok=True)
    instance = Azurite(AzuritePorts.free(), location=None, log_file=ARTIFACTS / "azurite.log")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def settings_environ(connection_string: str, **overrides: str) -> dict[str, str]:
    """A complete, valid test environment for `load_settings`."""
    environ = {
        "TOKENROUTE_ENV": "test",
        "AzureWebJobsStorage": connection_string,
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    environ.update(overrides)
    return environ


@pytest.fixture
def settings(azurite: Azurite) -> Settings:
    """Validated settings for the session's Azurite."""
    return load_settings(settings_environ(azurite.connection_string), local_settings=None)


@pytest.fixture
def unique_name() -> str:
    """A short name no other test uses, for tables, queues and containers (letters and digits)."""
    return "t" + uuid.uuid4().hex[:12]
