"""Blob storage: one container, blob names built only from checked path segments.

`blob_path("tenant1", "exports", "x.zip")` is the only way a name should be made from input: a
segment is 1-200 of `A-Z a-z 0-9 . _ -` and never `.` or `..`, so input cannot add a `/` or climb
out of its prefix. Every method re-checks the full name it is given.
"""

from __future__ import annotations

import base64
import builtins
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobClient, ContainerClient, ContentSettings

from shared.storage.account import StorageAccount
from shared.storage.errors import Conflict, InvalidKey, translate
from shared.storage.names import check_container_name

_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,200}")
_PREFIX = re.compile(r"[A-Za-z0-9._/-]*")
MAX_NAME_CHARS: Final = 1024
# Blocks of 4 MiB: an upload holds one block in memory, and 50,000 blocks still allow ~195 GiB.
BLOCK_BYTES: Final = 4 * 1024 * 1024
MAX_BLOCKS: Final = 50_000
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"


def check_segment(segment: str) -> str:
    """Return `segment` if it is a safe blob path segment; raise `InvalidKey` otherwise."""
    if not isinstance(segment, str) or not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
        raise InvalidKey("a blob path segment is 1-200 of A-Z a-z 0-9 . _ - and not '.' or '..'")
    return segment


def blob_path(*segments: str) -> str:
    """Join checked segments with `/`; the only way to make a blob name from input."""
    if not segments:
        raise InvalidKey("a blob path needs at least one segment")
    name = "/".join(check_segment(segment) for segment in segments)
    if len(name) > MAX_NAME_CHARS:
        raise InvalidKey(f"a blob name is at most {MAX_NAME_CHARS} characters")
    return name


def check_blob_name(name: str) -> str:
    """Return `name` if every `/`-separated segment of it passes `check_segment`."""
    return blob_path(*name.split("/"))


@dataclass(frozen=True)
class BlobInfo:
    """What a listing says about one blob."""

    name: str
    size: int
    content_type: str | None
    last_modified: datetime | None
    etag: str | None


class BlobContainer:
    """One blob container. Methods are synchronous; async callers use `asyncio.to_thread`."""

    def __init__(self, account: StorageAccount, name: str) -> None:
        """Bind to container `name` (checked against the naming rules; nothing is created yet)."""
        self.name: Final = check_container_name(name)
        self.client: Final[ContainerClient] = account.container_client(name)

    def _blob(self, name: str) -> BlobClient:
        return self.client.get_blob_client(check_blob_name(name))

    def ensure(self) -> None:
        """Create the container (private: no anonymous access) if needed; idempotent."""
        try:
            self.client.create_container()
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise translate(exc, f"container {self.name}") from exc

    def put(
        self,
        name: str,
        data: bytes | Iterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        overwrite: bool = False,
    ) -> None:
        """Store a blob from bytes, or stream it from an iterable of byte chunks.

        An iterable is uploaded as blocks of 4 MiB, staged one by one and committed at the end,
        so memory stays bounded whatever the size; the blob appears only when complete. Without
        `overwrite`, an existing blob raises `Conflict`.
        """
        blob = self._blob(name)
        settings = ContentSettings(content_type=content_type)
        try:
            if isinstance(data, bytes | bytearray | memoryview):
                blob.upload_blob(bytes(data), overwrite=overwrite, content_settings=settings)
                return
            if not overwrite and blob.exists():
                # Fail before staging megabytes; the commit below re-checks atomically.
                raise Conflict(f"blob {self.name}/{name} already exists")
            block_ids = self._stage_blocks(blob, data)
            blob.commit_block_list(
                [BlobBlock(block_id) for block_id in block_ids],
                content_settings=settings,
                match_condition=None if overwrite else MatchConditions.IfMissing,
            )
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc

    @staticmethod
    def _stage_blocks(blob: BlobClient, chunks: Iterable[bytes]) -> builtins.list[str]:
        # Block ids must be equally long within a blob; a per-upload prefix keeps two concurrent
        # uploads of the same name from mixing their uncommitted blocks.
        upload = uuid.uuid4().hex
        block_ids: list[str] = []
        buffer = bytearray()

        def stage(block: bytes) -> None:
            if len(block_ids) >= MAX_BLOCKS:
                raise ValueError(f"a streamed blob may have at most {MAX_BLOCKS} blocks")
            block_id = base64.b64encode(f"{upload}-{len(block_ids):06d}".encode()).decode()
            blob.stage_block(block_id, block)
            block_ids.append(block_id)

        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= BLOCK_BYTES:
                stage(bytes(buffer[:BLOCK_BYTES]))
                del buffer[:BLOCK_BYTES]
        if buffer:
            stage(bytes(buffer))
        return block_ids

    def get(self, name: str) -> bytes:
        """The whole blob; raise `NotFound` when it does not exist. Use `open_stream` for big ones."""
        try:
            return self._blob(name).download_blob().readall()
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc

    def open_stream(self, name: str) -> Iterator[bytes]:
        """The blob as an iterator of chunks of up to 4 MiB.

        The first request happens here, so a missing blob raises `NotFound` at once rather than
        on the first `next()`.
        """
        try:
            downloader = self._blob(name).download_blob(max_concurrency=1)
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc
        return self._chunks(downloader.chunks(), name)

    def _chunks(self, chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
        try:
            yield from chunks
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc

    def exists(self, name: str) -> bool:
        """True when the blob exists."""
        try:
            return bool(self._blob(name).exists())
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc

    def delete(self, name: str) -> None:
        """Delete the blob and its snapshots; a missing blob is fine."""
        try:
            self._blob(name).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            raise translate(exc, f"blob {self.name}/{name}") from exc

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs whose names start with `prefix` (build it with `blob_path(...) + "/"`), in name order."""
        if not _PREFIX.fullmatch(prefix) or len(prefix) > MAX_NAME_CHARS:
            raise InvalidKey("a blob prefix may only hold A-Z a-z 0-9 . _ - and /")
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[BlobInfo]:
        try:
            for item in self.client.list_blobs(name_starts_with=prefix or None):
                yield BlobInfo(
                    name=item.name,
                    size=int(item.size or 0),
                    content_type=item.content_settings.content_type if item.content_settings else None,
                    last_modified=item.last_modified,
                    etag=item.etag,
                )
        except AzureError as exc:
            raise translate(exc, f"container {self.name}") from exc
