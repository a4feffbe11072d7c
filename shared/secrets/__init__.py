"""The secret backend: provider keys (BYOK) and the API-key pepper, in Key Vault or a local encrypted file.

Synchronous API; async callers use `asyncio.to_thread`. Build it once with
`secret_backend_from_settings` and address secrets with `SecretRef`.
"""

from shared.secrets.backend import MAX_VALUE_BYTES, SecretBackend
from shared.secrets.errors import LocalStoreRefused, SecretBackendError, SecretNotFound
from shared.secrets.factory import secret_backend_from_settings
from shared.secrets.keyvault import KeyVaultBackend
from shared.secrets.local_store import LocalEncryptedStore
from shared.secrets.names import SecretKind, SecretRef

__all__ = [
    "MAX_VALUE_BYTES",
    "KeyVaultBackend",
    "LocalEncryptedStore",
    "LocalStoreRefused",
    "SecretBackend",
    "SecretBackendError",
    "SecretKind",
    "SecretNotFound",
    "SecretRef",
    "secret_backend_from_settings",
]
