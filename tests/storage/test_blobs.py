"""Blob container against Azurite: safe paths, streaming upload and download, listing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from shared.storage.account import StorageAccount
from shared.storage.blobs import BLOCK_BYTES, BlobContainer, blob_path, check_blob_name
from shared.storage.errors import Conflict, InvalidKey, NotFound


@pytest.fixture
def container(account: StorageAccount, unique_name: str) -> BlobContainer:
    """A fresh, created container."""
    created = BlobContainer(account, unique_name)
    created.ensure()
    return created


@pytest.mark.parametrize(
    "segments",
    [(), ("",), ("..",), (".",), ("a/b",), ("tenant", ".."), ("a\\b",), ("a b",), ("é",), ("x" * 201,), ("a?",)],
)
def test_blob_path_refuses_unsafe_segments(segments: tuple[str, ...]) -> None:
    with pytest.raises(InvalidKey):
        blob_path(*segments)


def test_blob_path_joins_checked_segments() -> None:
    assert blob_path("tenant_1", "exports", "pack-2.zip") == "tenant_1/exports/pack-2.zip"
    assert blob_path("..a", "a..", "...x") == "..a/a../...x"  # dots inside a name are harmless
    with pytest.raises(InvalidKey):
        check_blob_name("tenant/../other")
    with pytest.raises(InvalidKey):
        check_blob_name("/absolute")


def test_ensure_is_idempotent(account: StorageAccount, unique_name: str) -> None:
    container = BlobContainer(account, unique_name)
    container.ensure()
    container.put("a.txt", b"a")
    container.ensure()
    assert container.get("a.txt") == b"a"


def test_bytes_round_trip_overwrite_and_conflict(container: BlobContainer) -> None:
    name = blob_path("t1", "p1", "suite.json")
    container.put(name, b'{"v":1}', content_type="application/json")
    assert container.get(name) == b'{"v":1}'
    with pytest.raises(Conflict):
        container.put(name, b"other")
    container.put(name, b'{"v":2}', content_type="application/json", overwrite=True)
    assert container.get(name) == b'{"v":2}'
    [info] = list(container.list("t1/p1/"))
    assert info.name == name
    assert info.size == 7
    assert info.content_type == "application/json"


def _chunks(total: int) -> Iterator[bytes]:
    """Deterministic bytes in uneven pieces that straddle block boundaries."""
    sizes = [1, 65_536, 1_000_003, 3_999_999, 7_777_777]
    produced, i = 0, 0
    while produced < total:
        size = min(sizes[i % len(sizes)], total - produced)
        seed = hashlib.sha256(i.to_bytes(8, "big")).digest()
        yield (seed * (size // len(seed) + 1))[:size]
        produced += size
        i += 1


def test_streaming_upload_and_chunked_download_of_20_mb(container: BlobContainer) -> None:
    total = 20 * 1024 * 1024 + 12_345
    expected = hashlib.sha256()
    for piece in _chunks(total):
        expected.update(piece)
    name = blob_path("exports", "big.bin")
    container.put(name, _chunks(total), content_type="application/octet-stream")
    committed, _ = container.client.get_blob_client(name).get_block_list("committed")
    assert len(committed) == -(-total // BLOCK_BYTES)  # staged in 4 MiB blocks, not in one request

    actual = hashlib.sha256()
    sizes: list[int] = []
    for chunk in container.open_stream(name):
        sizes.append(len(chunk))
        actual.update(chunk)
    assert sum(sizes) == total
    assert actual.hexdigest() == expected.hexdigest()
    assert len(sizes) > 1
    assert max(sizes) <= BLOCK_BYTES
    with pytest.raises(Conflict):
        container.put(name, iter([b"x"]))


def test_streaming_upload_of_nothing_makes_an_empty_blob(container: BlobContainer) -> None:
    container.put("empty.bin", iter([]))
    assert container.get("empty.bin") == b""


def test_missing_blobs_delete_and_listing(container: BlobContainer) -> None:
    with pytest.raises(NotFound):
        container.get("nope.txt")
    with pytest.raises(NotFound):
        container.open_stream("nope.txt")
    assert not container.exists("nope.txt")
    container.delete("nope.txt")
    for name in ("t1/a.txt", "t1/b.txt", "t10/c.txt", "t2/d.txt"):
        container.put(name, b"x")
    assert [info.name for info in container.list("t1/")] == ["t1/a.txt", "t1/b.txt"]
    assert len(list(container.list())) == 4
    container.delete("t1/a.txt")
    assert not container.exists("t1/a.txt")
    assert container.exists("t1/b.txt")
    with pytest.raises(InvalidKey):
        container.list("t1/'")


def test_every_method_checks_the_name(container: BlobContainer) -> None:
    for call in (
        lambda: container.put("../x", b"x"),
        lambda: container.get("a//b"),
        lambda: container.open_stream("a/./b"),
        lambda: container.exists("a b"),
        lambda: container.delete("a/../../b"),
    ):
        with pytest.raises(InvalidKey):
            call()
