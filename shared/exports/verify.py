"""Reading a pack back: every file must be listed in the manifest and hash to what it says.

A pack is refused (`PackRefused`, naming the file) when the manifest is missing or malformed, when a
file is missing, extra, of another size or another SHA-256, or when the zip itself is damaged.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

from shared.exports import PACK_SCHEMA_VERSION
from shared.exports.zipstream import MANIFEST_NAME

READ_CHUNK = 1024 * 1024


class PackRefused(Exception):
    """The pack cannot be trusted; `path` is the file at fault (or manifest.json)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class VerifiedPack:
    """A pack whose every file matched its manifest."""

    manifest: dict[str, Any]
    archive: zipfile.ZipFile

    def read(self, path: str) -> bytes:
        """A file's bytes (already verified)."""
        return self.archive.read(path)

    def paths(self, prefix: str) -> list[str]:
        """The listed files under `prefix`."""
        return [entry["path"] for entry in self.manifest["files"] if entry["path"].startswith(prefix)]


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    except KeyError:
        raise PackRefused(MANIFEST_NAME, "missing") from None
    except (ValueError, zipfile.BadZipFile, zlib.error):
        raise PackRefused(MANIFEST_NAME, "not readable JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise PackRefused(MANIFEST_NAME, "has no file list")
    major = str(manifest.get("schema_version", "")).split(".")[0]
    if manifest.get("schema") != "tokenroute.pack" or major != PACK_SCHEMA_VERSION.split(".")[0]:
        raise PackRefused(MANIFEST_NAME, f"not a tokenroute.pack of schema version {PACK_SCHEMA_VERSION}")
    return manifest


def _digest(archive: zipfile.ZipFile, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(path) as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        # A changed byte in compressed data usually breaks the zip's own CRC before our hash.
        raise PackRefused(path, "damaged (its bytes do not match the zip's checksum)") from None
    return digest.hexdigest(), size


def verify_pack(source: IO[bytes]) -> VerifiedPack:
    """Open and check a pack; raise `PackRefused` naming the first file that does not match."""
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise PackRefused("pack", "not a zip file") from None
    manifest = _manifest(archive)
    listed: set[str] = set()
    for entry in manifest["files"]:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or path in listed:
            raise PackRefused(MANIFEST_NAME, "a file entry is malformed or repeated")
        listed.add(path)
        try:
            archive.getinfo(path)
        except KeyError:
            raise PackRefused(path, "listed in the manifest but missing") from None
        sha, size = _digest(archive, path)
        if sha != entry.get("sha256") or size != entry.get("size"):
            raise PackRefused(path, "SHA-256 or size differs from the manifest (changed after export)")
    extra = sorted(set(archive.namelist()) - listed - {MANIFEST_NAME})
    if extra:
        raise PackRefused(extra[0], "not listed in the manifest")
    return VerifiedPack(manifest, archive)
