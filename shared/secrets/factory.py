"""Build the secret backend the settings ask for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.config import Environment, SecretsBackend, Settings
from shared.secrets.backend import SecretBackend
from shared.secrets.errors import LocalStoreRefused
from shared.secrets.keyvault import KeyVaultBackend
from shared.secrets.local_store import DEFAULT_PATH, LocalEncryptedStore, decode_local_key

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline.transport import HttpTransport


def secret_backend_from_settings(
    settings: Settings,
    *,
    local_path: Path | None = None,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
) -> SecretBackend:
    """The Key Vault backend (`SECRETS_BACKEND=keyvault`) or the local encrypted store (`local`).

    `credential` replaces `DefaultAzureCredential` and `transport` the HTTP layer (tests);
    `local_path` (or `LOCAL_SECRETS_PATH`) moves the local store away from
    `.tokenroute/secrets.json`. The local store is refused in prod even if settings were built
    without validation.
    """
    if settings.secrets_backend is SecretsBackend.KEYVAULT:
        if credential is None:
            return KeyVaultBackend.from_settings(settings, transport=transport)
        if settings.keyvault_url is None:
            raise ValueError("KEYVAULT_URL is required for the Key Vault secret backend")
        return KeyVaultBackend(str(settings.keyvault_url), credential, transport=transport)
    if settings.environment is Environment.PROD:
        raise LocalStoreRefused(
            "SECRETS_BACKEND=local is refused when TOKENROUTE_ENV=prod; set SECRETS_BACKEND=keyvault and KEYVAULT_URL"
        )
    if settings.local_secrets_key is None:
        raise ValueError("LOCAL_SECRETS_KEY is required for the local secret backend")
    key = decode_local_key(settings.local_secrets_key)
    path = local_path or settings.local_secrets_path or DEFAULT_PATH
    return LocalEncryptedStore(path, key, environment=settings.environment)
