"""Errors of the secret backend.

Messages name the secret (derived from ids, never secret) and what failed; they never carry a
secret value, so an exception can be logged or shown in a problem response as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.secrets.names import SecretRef


class SecretBackendError(Exception):
    """The backend could not do what was asked (unreachable, refused, corrupt store, wrong key)."""


class SecretNotFound(SecretBackendError):
    """No secret (or no such version) exists for the reference."""

    def __init__(self, ref: SecretRef, version: str | None = None) -> None:
        self.ref = ref
        self.version = version
        what = f"version {version} of secret {ref.name}" if version else f"secret {ref.name}"
        super().__init__(f"{what} not found")


class LocalStoreRefused(SecretBackendError):
    """The local encrypted store was asked for where it must not run (`TOKENROUTE_ENV=prod`)."""
