"""The secret backend interface: where provider keys and the API-key pepper live.

The API is synchronous (like the storage repositories); async callers use `asyncio.to_thread`.
Values are plain `str` held only as long as needed: implementations never log them, never put
them in exception messages and never show them in a repr.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from shared.secrets.names import SecretRef

# Key Vault refuses secret values above 25 KiB; the local store keeps the same limit, so code
# that works locally works against the vault.
MAX_VALUE_BYTES = 25 * 1024
# Version ids are 32 hex digits in both backends; anything else is refused before it reaches a URL.
_VERSION = re.compile(r"[0-9a-zA-Z]{1,64}")


def check_value(value: object) -> str:
    """Return `value` if it can be stored as a secret; raise without echoing it otherwise."""
    if not isinstance(value, str):
        raise TypeError("a secret value must be a str")
    if not value:
        raise ValueError("a secret value must not be empty")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ValueError(f"a secret value must be at most {MAX_VALUE_BYTES} bytes in UTF-8")
    return value


def check_version(version: object) -> str | None:
    """Return `version` (None: the newest) if it is shaped like a version id; raise ValueError otherwise."""
    if version is None:
        return None
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ValueError("a secret version id is 1-64 letters and digits")
    return version


@runtime_checkable
class SecretBackend(Protocol):
    """Stores secret values by reference, with versions (a put on an existing secret rotates it)."""

    def put(self, ref: SecretRef, value: str) -> str:
        """Store `value` as the newest version of the secret; return the new version id."""
        ...

    def get(self, ref: SecretRef, *, version: str | None = None) -> str:
        """The newest value (or the given version); raise `SecretNotFound` when there is none."""
        ...

    def delete(self, ref: SecretRef) -> None:
        """Remove the secret and all its versions (purged where the backend allows); no error if absent."""
        ...

    def list_refs(self, tenant_id: str, project_id: str | None = None) -> list[SecretRef]:
        """Every secret of the tenant (or of one of its projects), sorted by name."""
        ...

    def delete_scope(self, tenant_id: str, project_id: str | None = None) -> int:
        """Delete every secret of the tenant (or of one project); return how many were deleted."""
        ...

    def close(self) -> None:
        """Release network connections or file handles."""
        ...
