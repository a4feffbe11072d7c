"""Fixtures of the suite tests: a storage account on the session's Azurite and a ready store.

Scorer specs are checked for their shape only here: these tests use minimal cases (no expected
output, no scorers) that the scoring rules refuse; those rules are tested with the scorers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.clock import SystemClock
from shared.config import Settings
from shared.ids import new_id
from shared.storage.account import StorageAccount
from shared.suites import scorers
from shared.suites.store import SuiteStore


@pytest.fixture(autouse=True)
def shape_only_scorer_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validate scorer specs by shape only, whatever `validate_scorers` is wired to."""
    monkeypatch.setattr(scorers, "validate_scorers", scorers.check_shape)


@pytest.fixture
def account(settings: Settings) -> Iterator[StorageAccount]:
    """The account the settings describe (the session's in-memory Azurite)."""
    with StorageAccount.from_settings(settings.storage) as storage:
        yield storage


@pytest.fixture
def store(account: StorageAccount) -> SuiteStore:
    """A suite store whose tables and container exist."""
    created = SuiteStore(account, SystemClock())
    created.ensure()
    return created


@pytest.fixture
def scope() -> tuple[str, str]:
    """A tenant and project no other test uses."""
    return new_id("ten"), new_id("prj")
