"""read_only_link against Azurite: account-key SAS that reads, refuses writes, and expires."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from shared.storage.account import StorageAccount
from shared.storage.blobs import BlobContainer, blob_path
from shared.storage.errors import InvalidKey
from shared.storage.sas import read_only_link


@pytest.fixture
def container(account: StorageAccount, unique_name: str) -> BlobContainer:
    created = BlobContainer(account, unique_name)
    created.ensure()
    return created


def test_link_downloads_the_blob_and_nothing_else(account: StorageAccount, container: BlobContainer) -> None:
    name = blob_path("t1", "exports", "pack.zip")
    container.put(name, b"pack bytes", content_type="application/zip")
    link = read_only_link(account, container.name, name, timedelta(minutes=5))
    response = httpx.get(link, timeout=10)
    assert response.status_code == 200
    assert response.content == b"pack bytes"
    # Read-only: the same signature cannot overwrite the blob.
    put = httpx.put(link, content=b"evil", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert put.status_code == 403
    # Bound to this blob: swapping the name breaks the signature.
    other = link.replace("pack.zip", "other.zip")
    assert httpx.get(other, timeout=10).status_code == 403
    assert container.get(name) == b"pack bytes"


def test_link_expires(account: StorageAccount, container: BlobContainer) -> None:
    container.put("short.txt", b"x")
    link = read_only_link(account, container.name, "short.txt", timedelta(seconds=1))
    time.sleep(2.5)
    assert httpx.get(link, timeout=10).status_code == 403


@pytest.mark.parametrize(
    "ttl", [timedelta(minutes=15, seconds=1), timedelta(hours=1), timedelta(0), timedelta(seconds=-1)]
)
def test_ttl_outside_limits_is_refused(account: StorageAccount, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="15"):
        read_only_link(account, "exports", "a.zip", ttl)


def test_names_are_checked(account: StorageAccount) -> None:
    with pytest.raises(InvalidKey):
        read_only_link(account, "exports", "../a.zip", timedelta(minutes=1))
    with pytest.raises(InvalidKey):
        read_only_link(account, "Exports", "a.zip", timedelta(minutes=1))
