"""Fixtures of the secret backend tests: a local store on tmp_path and an in-memory Key Vault.

Key Vault's challenge cache is process-wide (`azure.keyvault.secrets._shared.http_challenge_cache`):
every vault fixture clears it before and after, and these tests must not run in parallel
with each other in one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.keyvault.secrets._shared import http_challenge_cache

from shared.secrets import KeyVaultBackend, LocalEncryptedStore
from tests.secrets.fake_keyvault import VAULT_URL, FakeCredential, FakeVaultTransport


@pytest.fixture
def fresh_challenge_cache() -> Iterator[None]:
    """No challenge left over from another test: each test sees the SDK's first, unauthenticated request."""
    http_challenge_cache.clear()
    yield
    http_challenge_cache.clear()


@pytest.fixture
def credential() -> FakeCredential:
    """A token credential that records the scopes it is asked for."""
    return FakeCredential()


@pytest.fixture
def vault(fresh_challenge_cache: None) -> FakeVaultTransport:
    """An in-memory Key Vault without purge protection, two items per list page."""
    return FakeVaultTransport()


@pytest.fixture
def protected_vault(fresh_challenge_cache: None) -> FakeVaultTransport:
    """An in-memory Key Vault with purge protection on."""
    return FakeVaultTransport(purge_protection=True)


def backend_for(vault: FakeVaultTransport, credential: FakeCredential) -> KeyVaultBackend:
    """The real backend over the fake vault; its waits between attempts advance the fake's clock."""
    return KeyVaultBackend(VAULT_URL, credential, transport=vault, polling_interval=0.01, sleep=vault.sleep)


@pytest.fixture
def kv(vault: FakeVaultTransport, credential: FakeCredential) -> Iterator[KeyVaultBackend]:
    """The Key Vault backend over `vault`."""
    backend = backend_for(vault, credential)
    yield backend
    backend.close()


@pytest.fixture
def local_key() -> bytes:
    """A fresh AES-256 key."""
    return os.urandom(32)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where the local store of a test lives."""
    return tmp_path / "store" / "secrets.json"


@pytest.fixture
def local_store(store_path: Path, local_key: bytes, monkeypatch: pytest.MonkeyPatch) -> LocalEncryptedStore:
    """A local encrypted store on tmp_path, in a process that is not prod."""
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)
    return LocalEncryptedStore(store_path, local_key)
