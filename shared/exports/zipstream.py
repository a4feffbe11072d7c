"""A zip written as an iterator of byte chunks, with the SHA-256 and size of every file.

`zipfile` can write to a sink that cannot seek (it then uses data descriptors), so the pack never
exists whole in memory or on disk: each file is fed in pieces, compressed, and the compressed bytes
are handed on as they appear. Entries get a fixed timestamp, so the same content gives the same bytes
(a redelivered export writes the same pack). `manifest.json` is written last, once every hash is known.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

MANIFEST_NAME = "manifest.json"
# 1980-01-01 is the earliest date zip can hold; a fixed date keeps builds byte-identical.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


class _Sink:
    """A write-only file object that keeps what was written until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing buffered below us."""

    def close(self) -> None:
        """Nothing to release."""

    def drain(self) -> bytes:
        """Everything written since the last drain."""
        data = b"".join(self._parts)
        self._parts.clear()
        return data


@dataclass(frozen=True)
class FileEntry:
    """One file of the pack as the manifest lists it."""

    path: str
    sha256: str
    size: int
    media_type: str


@dataclass
class PackFile:
    """A file to write: its path, media type and its content as chunks (produced lazily)."""

    path: str
    media_type: str
    chunks: Callable[[], Iterable[bytes]]


@dataclass
class ZipStream:
    """Writes `PackFile`s and then the manifest; `entries` fills as files are written."""

    manifest_fields: dict[str, Any]
    entries: list[FileEntry] = field(default_factory=list)

    def chunks(self, files: Iterable[PackFile]) -> Iterator[bytes]:
        """The zip's bytes, in pieces of whatever size compression gives (the uploader re-blocks them)."""
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for item in files:
                yield from self._write(archive, sink, item)
            manifest = {**self.manifest_fields, "files": [entry.__dict__ for entry in self.entries]}
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            yield from self._write(archive, sink, PackFile(MANIFEST_NAME, "application/json", lambda: [data]))
        yield sink.drain()

    def _write(self, archive: zipfile.ZipFile, sink: _Sink, item: PackFile) -> Iterator[bytes]:
        info = zipfile.ZipInfo(item.path, date_time=FIXED_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        digest = hashlib.sha256()
        size = 0
        # force_zip64: the size is unknown up front and a results file may pass 2 GiB.
        with archive.open(info, "w", force_zip64=True) as target:
            for chunk in item.chunks():
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
                out = sink.drain()
                if out:
                    yield out
        if item.path != MANIFEST_NAME:
            self.entries.append(FileEntry(item.path, digest.hexdigest(), size, item.media_type))
        yield sink.drain()
