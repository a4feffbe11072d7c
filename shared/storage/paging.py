"""Pages of results and the opaque cursors that continue them.

A cursor is URL-safe base64 of a small JSON document (the service's continuation keys plus a
fingerprint of the query) followed by a checksum. It is not secret and not signed: the checksum
only makes a damaged or hand-edited cursor fail as `InvalidCursor` instead of reaching the
service, and the fingerprint stops a cursor from one query being replayed on another. The query
itself always carries its tenant scope, so a forged cursor can at worst skip ahead in data the
caller may read anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from shared.storage.errors import InvalidCursor

T = TypeVar("T")

_CHECK_BYTES: Final = 8
_DOMAIN: Final = b"tokenroute/cursor/v1\n"
# Continuation keys are at most 1 KiB each; anything much longer is not ours.
MAX_CURSOR_CHARS: Final = 8192


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items; `next_cursor` is None on the last page."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


def fingerprint(*parts: object) -> str:
    """A short, stable digest of what identifies a query (table, filter, parameters, select)."""
    text = json.dumps([repr(part) for part in parts], ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(_DOMAIN + payload).digest()[:_CHECK_BYTES]


def encode_cursor(position: Mapping[str, str], query: str) -> str:
    """Wrap a continuation position (string keys and values) bound to the query fingerprint."""
    payload = json.dumps({"q": query, "p": dict(position)}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(payload + _checksum(payload)).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, query: str) -> dict[str, str]:
    """Unwrap a cursor made by `encode_cursor` for the same query; raise `InvalidCursor` otherwise."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("the cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not valid base64") from None
    # urlsafe_b64decode drops characters outside the alphabet; re-encoding catches that.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != cursor:
        raise InvalidCursor("the cursor is not valid base64")
    payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if len(raw) <= _CHECK_BYTES or not hmac.compare_digest(check, _checksum(payload)):
        raise InvalidCursor("the cursor is damaged")
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidCursor("the cursor is damaged") from None
    if not isinstance(document, dict) or document.get("q") != query:
        raise InvalidCursor("the cursor belongs to another query")
    position = document.get("p")
    if not isinstance(position, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in position.items()
    ):
        raise InvalidCursor("the cursor is damaged")
    return position
