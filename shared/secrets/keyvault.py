"""The Azure Key Vault secret backend (azure-keyvault-secrets, sync client).

- Names and tags come from `SecretRef`; values go only into the request body of `set_secret`.
- HTTP body logging stays off: the client is built with `logging_enable=False` and no call
  passes it, so azure-core's network trace (which would log a PUT body) never runs; its
  `HttpLoggingPolicy` logs URLs and redacted headers only.
- Errors become `SecretBackendError` built from the status, the service's error code and the
  request id, raised `from None`: the SDK's exception keeps the request, body included.
- Delete is soft delete, then purge where the vault allows it. With purge protection the
  secret stays soft-deleted until its scheduled purge date; Key Vault removes it then.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from shared.secrets.backend import check_value, check_version
from shared.secrets.errors import SecretBackendError, SecretNotFound
from shared.secrets.names import SecretRef, scope_of

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline.transport import HttpTransport
    from azure.identity import DefaultAzureCredential

    from shared.config import Settings

logger = logging.getLogger(__name__)

# Waits between attempts while a purged name is still being freed (Key Vault purges asynchronously).
_REUSE_DELAYS = (1.0, 2.0, 4.0, 8.0, 8.0)
_DELETE_WAIT_SECONDS = 60.0
# Key Vault answers 409 with these inner codes when a name is held by a deleted secret.
_DELETED_BUT_RECOVERABLE = "ObjectIsDeletedButRecoverable"
_BEING_DELETED = "ObjectIsBeingDeleted"

_PurgeOutcome = Literal["purged", "refused", "busy"]


def _error_code(exc: HttpResponseError) -> str | None:
    """The most specific error code of a Key Vault error answer (the inner one when present)."""
    if exc.error is None:
        return None
    inner = exc.error.innererror or {}
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else exc.error.code


def _describe(exc: AzureError) -> str:
    """What went wrong, without anything from a request body."""
    if isinstance(exc, HttpResponseError):
        headers = getattr(exc.response, "headers", None)  # the error's response type only promises a reason
        request_id = headers.get("x-ms-request-id") if headers is not None else None
        code = _error_code(exc) or exc.reason or "error"
        return f"HTTP {exc.status_code} {code}" + (f" (request id {request_id})" if request_id else "")
    # Connection and credential failures: their messages are about the network or the identity.
    return f"{type(exc).__name__}: {exc.message}"


@contextlib.contextmanager
def _translated(action: str, name: str) -> Iterator[None]:
    """Turn an SDK error into a `SecretBackendError` that names the secret but not the value."""
    try:
        yield
    except AzureError as exc:
        raise SecretBackendError(f"Key Vault could not {action} secret {name}: {_describe(exc)}") from None


class KeyVaultBackend:
    """A `SecretBackend` over one Key Vault, reached with a token credential."""

    def __init__(
        self,
        vault_url: str,
        credential: TokenCredential,
        *,
        transport: HttpTransport[Any, Any] | None = None,
        polling_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Build the client; no network call happens here.

        `transport` replaces the HTTP layer (tests answer like Key Vault without a network);
        `polling_interval` is how often a delete is polled before the purge; `sleep` waits
        between attempts to reuse a name whose purge is still running.
        """
        if not vault_url.startswith("https://"):
            raise ValueError("the Key Vault URL must be https://<name>.vault.azure.net")
        options: dict[str, Any] = {"logging_enable": False}
        if transport is not None:
            options["transport"] = transport
        self._client = SecretClient(vault_url, credential, **options)
        self._polling_interval = polling_interval
        self._sleep = sleep
        self._owned_credential: DefaultAzureCredential | None = None  # built by from_settings, closed with us

    @classmethod
    def from_settings(
        cls, settings: Settings, client_id: str | None = None, *, transport: HttpTransport[Any, Any] | None = None
    ) -> KeyVaultBackend:
        """The production backend: `KEYVAULT_URL` and `DefaultAzureCredential` (managed identity in Azure).

        `client_id` selects a user-assigned identity; without it the credential reads `AZURE_CLIENT_ID`.
        """
        from azure.identity import DefaultAzureCredential  # imported here: only production needs it

        if settings.keyvault_url is None:
            raise ValueError("KEYVAULT_URL is required for the Key Vault secret backend")
        # Passing managed_identity_client_id=None would switch off the AZURE_CLIENT_ID fallback.
        credential = (
            DefaultAzureCredential(managed_identity_client_id=client_id) if client_id else DefaultAzureCredential()
        )
        backend = cls(str(settings.keyvault_url), credential, transport=transport)
        backend._owned_credential = credential
        return backend

    def __repr__(self) -> str:
        return f"KeyVaultBackend(vault_url={self._client.vault_url!r})"

    @property
    def vault_url(self) -> str:
        """The vault this backend talks to."""
        return self._client.vault_url

    # -- SecretBackend -------------------------------------------------------------------------

    def put(self, ref: SecretRef, value: str) -> str:
        """Set a new version of the secret (creating it if needed); return the version id.

        A name still held by a soft-deleted secret is freed first: purged where allowed (a clean
        start), recovered where purge protection forbids purging (then the new version goes on top).
        """
        check_value(value)
        name = ref.name
        for delay in (*_REUSE_DELAYS, None):
            conflict: str | None = None
            with _translated("set", name):
                try:
                    secret = self._client.set_secret(name, value, content_type="text/plain", tags=ref.tags)
                except ResourceExistsError as exc:
                    conflict = _error_code(exc)
                    if conflict not in (_DELETED_BUT_RECOVERABLE, _BEING_DELETED):
                        raise
            if conflict is None:
                if not secret.properties.version:
                    raise SecretBackendError(f"Key Vault set secret {name} but returned no version")
                return secret.properties.version
            if delay is None:
                break
            # Freed outside the except block above, so no later error chains to the request holding the value.
            if conflict == _DELETED_BUT_RECOVERABLE:
                self._free_deleted_name(name, delay)
            else:
                self._sleep(delay)
        raise SecretBackendError(
            f"Key Vault could not set secret {name}: HTTP 409 {conflict}, the name is still held by a deleted "
            f"secret after {len(_REUSE_DELAYS) + 1} attempts"
        )

    def get(self, ref: SecretRef, *, version: str | None = None) -> str:
        """The newest value (or the given version); raise `SecretNotFound` when there is none."""
        name = ref.name
        with _translated("read", name):
            try:
                secret = self._client.get_secret(name, check_version(version))
            except ResourceNotFoundError:
                raise SecretNotFound(ref, version) from None
        if secret.value is None:
            raise SecretBackendError(f"Key Vault returned secret {name} without a value")
        return secret.value

    def delete(self, ref: SecretRef) -> None:
        """Soft-delete the secret and purge it where allowed; nothing happens when it does not exist."""
        self._delete_name(ref.name)

    def list_refs(self, tenant_id: str, project_id: str | None = None) -> list[SecretRef]:
        """Every live secret of the tenant (or of one project), sorted by name.

        The name decides: it is derived from the ids, while tags are editable by anyone who can
        set secrets. A secret whose tags disagree with its name is logged, by name only.
        """
        scope_of(tenant_id, project_id)
        refs: list[SecretRef] = []
        with _translated("list", "names of"):
            for properties in self._client.list_properties_of_secrets():
                ref = SecretRef.parse(properties.name or "")
                if ref is None or not ref.in_scope(tenant_id, project_id):
                    continue
                if properties.tags != ref.tags:
                    logger.warning("secret %s: its tags do not match its name", ref.name)
                refs.append(ref)
        return sorted(refs, key=lambda r: r.name)

    def delete_scope(self, tenant_id: str, project_id: str | None = None) -> int:
        """Delete every secret of the tenant (or of one project); return how many live ones were deleted.

        Also purges (where allowed) soft-deleted secrets of the scope left by an earlier attempt
        that stopped between delete and purge, so a retried cascade leaves nothing behind.
        """
        refs = self.list_refs(tenant_id, project_id)
        for ref in refs:
            self._delete_name(ref.name)
        done = {ref.name for ref in refs}
        with _translated("list", "deleted names of"):
            leftovers = [
                leftover
                for deleted in self._client.list_deleted_secrets()
                if (leftover := SecretRef.parse(deleted.name or "")) is not None
                and leftover.name not in done
                and leftover.in_scope(tenant_id, project_id)
                # Under purge protection they wait for their purge date; asking would only get 403s.
                and "Purgeable" in (deleted.properties.recovery_level or "")
            ]
        for leftover in leftovers:
            self._purge(leftover.name)
        return len(refs)

    def close(self) -> None:
        """Close the client's connections (and the credential, when `from_settings` built it)."""
        self._client.close()
        if self._owned_credential is not None:
            self._owned_credential.close()

    # -- deletion ------------------------------------------------------------------------------

    def _delete_name(self, name: str) -> None:
        with _translated("delete", name):
            try:
                poller = self._client.begin_delete_secret(name, _polling_interval=self._polling_interval)
            except ResourceNotFoundError:
                # Not live; an earlier attempt may have stopped before its purge, so try that again.
                self._purge(name)
                return
            deleted = poller.result()
            if deleted.recovery_id is None:
                return  # soft delete is off for this vault: the secret is gone for good
            if "Purgeable" not in (deleted.properties.recovery_level or ""):
                logger.info("secret %s is soft-deleted; purge protection keeps it until its purge date", name)
                return
            # The purge is refused until the deleted secret appears in the deleted collection.
            poller.wait(timeout=_DELETE_WAIT_SECONDS)
            if not poller.done():
                logger.warning("secret %s is still being deleted; it stays soft-deleted, not purged", name)
                return
        if self._purge(name) == "busy":
            logger.warning("secret %s is still being deleted; it stays soft-deleted, not purged", name)

    def _purge(self, name: str) -> _PurgeOutcome:
        """Purge a soft-deleted secret; say whether it is gone, refused or still being deleted."""
        with _translated("purge", name):
            try:
                self._client.purge_deleted_secret(name)
            except ResourceNotFoundError:
                return "purged"  # nothing soft-deleted under this name
            except HttpResponseError as exc:
                # 403: purge protection (or no purge permission); 400 NotSupported: no soft delete.
                # Either way Key Vault removes the secret on its scheduled purge date.
                if exc.status_code in (400, 403):
                    logger.warning("secret %s was not purged (%s); it expires by itself", name, _describe(exc))
                    return "refused"
                if exc.status_code == 409:
                    return "busy"  # its deletion is still running
                raise
        return "purged"

    def _free_deleted_name(self, name: str, delay: float) -> None:
        """Make a name held by a soft-deleted secret usable again: purge, or recover if purge is refused."""
        outcome = self._purge(name)
        if outcome == "busy":
            self._sleep(delay)
        if outcome != "refused":
            return
        # ResourceExistsError: a recovery is already running; the next attempt to set will tell.
        with _translated("recover", name), contextlib.suppress(ResourceExistsError):
            poller = self._client.begin_recover_deleted_secret(name, _polling_interval=self._polling_interval)
            poller.wait(timeout=_DELETE_WAIT_SECONDS)
        logger.warning("secret %s was recovered to reuse its name; its older versions are kept", name)
