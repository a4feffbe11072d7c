"""Resolve a trigger's `connection` setting name to a queue client, as the Functions host does.

The host looks up the setting NAME, then AzureWebJobsNAME; failing both, the identity-based form
NAME__queueServiceUri (or NAME__serviceUri, or NAME__accountName) with a token credential.
"""

from __future__ import annotations

from collections.abc import Mapping

from azure.storage.queue import ExponentialRetry, QueueClient

from shared.devhost.functions import HostError

DEFAULT_CONNECTION = "AzureWebJobsStorage"


def _retry() -> ExponentialRetry:
    # The SDK's default waits 15 s and more between tries; a local host should notice trouble sooner.
    return ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2)


def queue_client(connection: str | None, queue_name: str, lookup: Mapping[str, str]) -> QueueClient:
    """A sync QueueClient for `queue_name` on the account that setting `connection` names."""
    name = connection or DEFAULT_CONNECTION
    for candidate in (name, f"AzureWebJobs{name}"):
        value = lookup.get(candidate, "").strip()
        if value:
            return QueueClient.from_connection_string(value, queue_name, retry_policy=_retry(), connection_timeout=10)
    account_url = _identity_queue_url(name, lookup)
    if account_url is None:
        raise HostError(
            f"storage connection {name!r} is not set: set {name} to a connection string "
            f"(UseDevelopmentStorage=true for Azurite) or {name}__queueServiceUri / {name}__accountName"
        )
    # Imported here: only identity-based settings need azure-identity.
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = lookup.get(f"{name}__clientId")
    credential = (
        ManagedIdentityCredential(client_id=client_id)
        if lookup.get(f"{name}__credential", "").lower() == "managedidentity"
        else DefaultAzureCredential()
    )
    return QueueClient(account_url, queue_name, credential=credential, retry_policy=_retry(), connection_timeout=10)


def _identity_queue_url(name: str, lookup: Mapping[str, str]) -> str | None:
    for suffix in ("queueServiceUri", "serviceUri"):
        value = lookup.get(f"{name}__{suffix}", "").strip()
        if value:
            return value
    account = lookup.get(f"{name}__accountName", "").strip()
    return f"https://{account}.queue.core.windows.net" if account else None
