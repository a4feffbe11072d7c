"""The factory builds the backend the settings ask for, and never the local store in prod."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from shared.config import Environment, SecretsBackend, Settings, load_settings
from shared.secrets import (
    KeyVaultBackend,
    LocalEncryptedStore,
    LocalStoreRefused,
    SecretRef,
    secret_backend_from_settings,
)
from shared.secrets.local_store import DEFAULT_PATH, PROJECT_ROOT
from tests.secrets.fake_keyvault import VAULT_URL, FakeCredential, FakeVaultTransport

KEY = os.urandom(32)


def local_settings(environment: str = "local") -> Settings:
    return load_settings(
        {
            "TOKENROUTE_ENV": environment,
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "SECRETS_BACKEND": "local",
            "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(KEY).decode(),
        },
        local_settings=None,
    )


def keyvault_settings() -> Settings:
    return load_settings(
        {
            "TOKENROUTE_ENV": "prod",
            "AzureWebJobsStorage__accountName": "tokenroutestore",
            "SECRETS_BACKEND": "keyvault",
            "KEYVAULT_URL": VAULT_URL,
            "CLERK_ISSUER": "https://clerk.example.com",
            "CLERK_JWKS_URL": "https://clerk.example.com/.well-known/jwks.json",
        },
        local_settings=None,
    )


def test_local_backend_uses_the_settings_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)
    path = tmp_path / "secrets.json"
    backend = secret_backend_from_settings(local_settings("test"), local_path=path)
    assert isinstance(backend, LocalEncryptedStore)
    backend.put(SecretRef.pepper(), "pepper-value")
    # Same key, opened directly: the factory decoded LOCAL_SECRETS_KEY to these 32 bytes.
    assert LocalEncryptedStore(path, KEY).get(SecretRef.pepper()) == "pepper-value"


def test_default_local_path_is_under_the_gitignored_project_folder() -> None:
    assert DEFAULT_PATH == PROJECT_ROOT / ".tokenroute" / "secrets.json"
    assert (PROJECT_ROOT / "pyproject.toml").is_file()
    assert ".tokenroute/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


def test_local_backend_is_refused_in_prod_even_without_validation(tmp_path: Path) -> None:
    # Settings refuse this combination; the factory refuses it again for settings built another way.
    settings = local_settings().model_copy(update={"environment": Environment.PROD})  # model_copy skips validation
    assert settings.secrets_backend is SecretsBackend.LOCAL
    with pytest.raises(LocalStoreRefused, match="TOKENROUTE_ENV=prod"):
        secret_backend_from_settings(settings, local_path=tmp_path / "secrets.json")
    assert not (tmp_path / "secrets.json").exists()


def test_key_vault_backend_from_settings() -> None:
    backend = secret_backend_from_settings(keyvault_settings())
    assert isinstance(backend, KeyVaultBackend)
    assert backend.vault_url == VAULT_URL
    backend.close()
    with_identity = KeyVaultBackend.from_settings(keyvault_settings(), client_id="00000000-0000-0000-0000-000000000001")
    with_identity.close()


def test_key_vault_backend_with_injected_credential_and_transport(
    vault: FakeVaultTransport, credential: FakeCredential
) -> None:
    backend = secret_backend_from_settings(keyvault_settings(), credential=credential, transport=vault)
    assert isinstance(backend, KeyVaultBackend)
    backend.put(SecretRef.pepper(), "pepper-value")
    assert backend.get(SecretRef.pepper()) == "pepper-value"
    assert vault.live_names() == [SecretRef.pepper().name]
    assert credential.calls
