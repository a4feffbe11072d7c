"""Fixtures of the storage tests: a `StorageAccount` on the session's Azurite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.config import Settings
from shared.storage.account import StorageAccount


@pytest.fixture
def account(settings: Settings) -> Iterator[StorageAccount]:
    """The account the settings describe (the session's in-memory Azurite)."""
    with StorageAccount.from_settings(settings.storage) as storage:
        yield storage
