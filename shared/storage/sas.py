"""Short-lived, read-only links to one blob.

In Azure the account has no key in our hands (identity-based settings), so the link is signed
with a user delegation key obtained with the app's token credential. Azurite does not support
user delegation, so locally the link is signed with the account key. Both paths live in one
function so callers never choose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from shared.storage.account import StorageAccount
from shared.storage.blobs import check_blob_name
from shared.storage.errors import translate
from shared.storage.names import check_container_name

MAX_TTL: Final = timedelta(minutes=15)
# Links start a little in the past so a client whose clock runs behind is not refused.
CLOCK_SKEW: Final = timedelta(minutes=5)


def read_only_link(account: StorageAccount, container: str, blob: str, ttl: timedelta) -> str:
    """A URL that lets anyone holding it read `container/blob` for `ttl` (at most 15 minutes).

    User-delegation SAS with a token credential (Azure), account-key SAS otherwise (Azurite).
    Raises `ValueError` for a TTL that is not positive or above 15 minutes.
    """
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError(f"a read-only link lives more than 0 s and at most {MAX_TTL}")
    check_container_name(container)
    check_blob_name(blob)
    now = datetime.now(UTC)
    start, expiry = now - CLOCK_SKEW, now + ttl
    permission = BlobSasPermissions(read=True)
    named_key = account.named_key
    if named_key is not None:
        token = generate_blob_sas(
            account.account_name,
            container,
            blob,
            account_key=named_key.named_key.key,
            permission=permission,
            start=start,
            expiry=expiry,
        )
    else:
        try:
            # One request per link; exports are downloaded rarely, so no key cache is worth it.
            delegation_key = account.blob_service.get_user_delegation_key(start, expiry)
        except AzureError as exc:
            raise translate(exc, "user delegation key") from exc
        token = generate_blob_sas(
            account.account_name,
            container,
            blob,
            user_delegation_key=delegation_key,
            permission=permission,
            start=start,
            expiry=expiry,
            protocol="https",
        )
    base = account.blob_service.url.rstrip("/")
    return f"{base}/{container}/{quote(blob, safe='/')}?{token}"
