"""Domain exceptions of the storage layer.

Callers catch these, never the Azure SDK's exception types, so the SDK stays an implementation
detail of `shared.storage`. Messages name the resource kind and the storage error code (for
example `EntityAlreadyExists`), never URLs, keys or response bodies.
"""

from __future__ import annotations

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import CredentialUnavailableError


class StorageError(Exception):
    """Base class of every storage-layer error; `code` is the service's error code when known."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotFound(StorageError):
    """The entity, blob, table, container or queue does not exist."""


class Conflict(StorageError):
    """The thing being created exists already (an insert of an existing entity, a blob without overwrite)."""


class ConcurrencyError(StorageError):
    """An ETag-guarded write lost a race: the stored version changed since it was read (HTTP 412)."""


class InvalidCursor(StorageError, ValueError):
    """A paging cursor is malformed, tampered with, or belongs to another query."""


class InvalidKey(StorageError, ValueError):
    """A PartitionKey, RowKey or blob path segment breaks the service's naming rules."""


class MessageTooLarge(StorageError, ValueError):
    """A queue message exceeds the 64 KB limit of Azure Storage Queues."""


class StorageUnavailable(StorageError):
    """The store could not be reached, timed out, refused our credentials or failed on its side."""


def error_code(exc: BaseException) -> str | None:
    """The storage error code of an SDK exception (`EntityAlreadyExists`, `BlobNotFound`, ...)."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    # The SDKs use str-valued enums for known codes and plain strings for others.
    return str(getattr(code, "value", code))


def translate(exc: AzureError, what: str) -> StorageError:
    """Map an SDK exception to the domain exception a caller can act on.

    `what` names the resource in the message ("entity", "blob health/x.txt", "queue jobs").
    Callers write `raise translate(exc, what) from exc`: the cause stays on the chain for logs,
    while the type and message a caller sees are ours.
    """
    code = error_code(exc)
    status = getattr(exc, "status_code", None)
    suffix = f" ({code})" if code else ""
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFound(f"{what} not found{suffix}", code=code)
    if isinstance(exc, ResourceModifiedError) or status == 412:
        return ConcurrencyError(f"{what} was changed by someone else{suffix}", code=code)
    if isinstance(exc, ResourceExistsError) or status == 409:
        return Conflict(f"{what} already exists or conflicts{suffix}", code=code)
    if isinstance(exc, CredentialUnavailableError):
        return StorageUnavailable(f"{what}: no Azure credential is available (managed identity or az login)")
    if isinstance(exc, ClientAuthenticationError):
        return StorageUnavailable(f"{what}: storage refused the credentials{suffix}", code=code)
    if isinstance(exc, ServiceRequestError):
        return StorageUnavailable(f"{what}: storage could not be reached", code=code)
    if isinstance(exc, ServiceResponseError):
        return StorageUnavailable(f"{what}: storage did not answer in time", code=code)
    if isinstance(exc, HttpResponseError) and status is not None and 400 <= status < 500 and status not in (401, 403):
        # Our request was wrong (bad property value, entity too large, ...): a bug, not an outage.
        return StorageError(f"{what}: storage rejected the request, HTTP {status}{suffix}", code=code)
    if isinstance(exc, HttpResponseError):
        return StorageUnavailable(f"{what}: storage answered HTTP {status}{suffix}", code=code)
    return StorageUnavailable(f"{what}: {type(exc).__name__}", code=code)
