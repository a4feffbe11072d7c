"""Canonical JSON of suite content, and the version id: the SHA-256 of those bytes.

The same content always gives the same bytes:

- the document is the validated `SuiteContent` plus `"format": FORMAT`, with fields at their
  default value left out (an absent `tags` and `"tags": []` are the same content, and a field
  added later with a default leaves existing ids unchanged);
- object keys sorted by code point, no whitespace between tokens, UTF-8 with non-ASCII written
  as is (not `\\u` escapes), numbers as Python's shortest round-trip form, integers limited to
  ±(2^53 - 1) and floats to finite values by validation;
- strings are NOT Unicode-normalized (no NFC): the text is what a model receives, and two
  spellings that normalize alike may tokenize differently, so they are different content.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

from shared.suites import limits
from shared.suites.errors import SuiteError, SuiteIntegrityError
from shared.suites.models import SuiteContent, parse_content

FORMAT: Final = "tokenroute.suite/v1"
_VERSION_ID = re.compile(r"[0-9a-f]{64}")


def canonical_json(value: Any) -> bytes:
    """Plain JSON data (dicts with str keys, lists, str, int, finite float, bool, None) as canonical bytes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def content_document(content: SuiteContent) -> dict[str, Any]:
    """The JSON document that stands for `content` (before serialization)."""
    document = content.model_dump(mode="json", exclude_defaults=True)
    document["format"] = FORMAT
    return document


def encode_content(content: SuiteContent) -> bytes:
    """The canonical bytes of `content`; raise `SuiteError` when they exceed `MAX_CONTENT_BYTES`."""
    data = canonical_json(content_document(content))
    if len(data) > limits.MAX_CONTENT_BYTES:
        raise SuiteError.at(
            "", f"the suite is {len(data):,} bytes as canonical JSON; the limit is {limits.MAX_CONTENT_BYTES:,}"
        )
    return data


def version_id(data: bytes) -> str:
    """The version id of canonical bytes: lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def is_version_id(value: str) -> bool:
    """True when `value` has the form of a version id (64 lowercase hex digits)."""
    return bool(_VERSION_ID.fullmatch(value))


def verify(data: bytes, expected_id: str) -> None:
    """Raise `SuiteIntegrityError` unless `data` hashes to `expected_id`."""
    if version_id(data) != expected_id:
        raise SuiteIntegrityError(f"suite version {expected_id[:12]}…: the stored bytes do not match their hash")


def decode_content(data: bytes) -> SuiteContent:
    """Content from canonical bytes (validated again; raise `SuiteError` if it is not a suite document)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SuiteError.at("", f"not a suite document: {type(exc).__name__}") from None
    if not isinstance(document, dict) or document.pop("format", None) != FORMAT:
        raise SuiteError.at("format", f"not a {FORMAT} document")
    return parse_content(document)
