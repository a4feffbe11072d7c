"""Canonical JSON: the same content always gives the same bytes and id; any change gives another."""

from __future__ import annotations

import copy
import hashlib
import json
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from shared.suites import limits
from shared.suites.canonical import (
    FORMAT,
    canonical_json,
    decode_content,
    encode_content,
    is_version_id,
    verify,
    version_id,
)
from shared.suites.errors import SuiteError, SuiteIntegrityError
from shared.suites.models import parse_content

DOCUMENT: dict[str, Any] = {
    "description": "Capitals",
    "system_prompt": "Answer briefly.",
    "default_scorers": [{"type": "exact"}],
    "cases": [
        {
            "id": "fr",
            "template": "Capital of {{country}}?",
            "vars": {"country": "France", "n": 1, "f": 0.5, "b": True},
            "expected": "Paris",
            "tags": ["géo", "easy"],
        },
        {
            "id": "jp",
            "messages": [{"role": "user", "content": "東京?"}],
            "scorers": [{"type": "contains", "values": ["Tokyo"], "mode": "any"}],
        },
    ],
}

# Pinned: a change here means every stored version id changes; that needs a new FORMAT instead.
EXPECTED_BYTES = (
    '{"cases":[{"expected":"Paris","id":"fr","tags":["géo","easy"],"template":"Capital of {{country}}?",'
    '"vars":{"b":true,"country":"France","f":0.5,"n":1}},{"id":"jp","messages":[{"content":"東京?","role":"user"}],'
    '"scorers":[{"mode":"any","type":"contains","values":["Tokyo"]}]}],"default_scorers":[{"type":"exact"}],'
    '"description":"Capitals","format":"tokenroute.suite/v1","system_prompt":"Answer briefly."}'
).encode()
EXPECTED_ID = "86e9c3849213352779f7c02f632ea05482ace12f013befd10bb2d04dfc7501fb"


def encode(document: dict[str, Any]) -> bytes:
    return encode_content(parse_content(document))


def reverse_keys(value: Any) -> Any:
    """The same data with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reverse_keys(item) for item in value]
    return value


def test_bytes_and_id_are_pinned() -> None:
    data = encode(DOCUMENT)
    assert data == EXPECTED_BYTES
    assert version_id(data) == EXPECTED_ID == hashlib.sha256(EXPECTED_BYTES).hexdigest()
    assert is_version_id(EXPECTED_ID)
    assert not is_version_id(EXPECTED_ID.upper())


def test_key_order_does_not_matter() -> None:
    assert encode(reverse_keys(DOCUMENT)) == encode(DOCUMENT)


def test_defaults_written_out_or_left_out_are_the_same_content() -> None:
    explicit = copy.deepcopy(DOCUMENT)
    explicit["cases"][1].update({"tags": [], "vars": {}, "expected": None, "template": None})
    assert encode(explicit) == encode(DOCUMENT)


def test_unicode_is_utf8_unescaped_and_not_normalized() -> None:
    composed = unicodedata.normalize("NFC", "café")
    decomposed = unicodedata.normalize("NFD", "café")
    first, second = copy.deepcopy(DOCUMENT), copy.deepcopy(DOCUMENT)
    first["cases"][0]["expected"], second["cases"][0]["expected"] = composed, decomposed
    assert composed.encode() in encode(first)
    assert decomposed.encode() in encode(second)
    # What a model receives differs, so the versions differ.
    assert version_id(encode(first)) != version_id(encode(second))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set("description", "Capitals!"),
        _set("system_prompt", "Answer briefly. "),
        _set("default_scorers", []),
        _set("cases.0.id", "fr2"),
        _set("cases.0.expected", "paris"),
        _set("cases.0.tags", ["easy", "géo"]),
        _set("cases.0.vars.n", 1.0),
        _set("cases.0.vars.n", "1"),
        _set("cases.0.vars.b", 1),
        _set("cases.1.messages.0.role", "system"),
        _set("cases.1.scorers.0.mode", "all"),
        lambda document: document["cases"].reverse(),
    ],
)
def test_any_change_gives_another_id(change: Callable[[dict[str, Any]], None]) -> None:
    changed = copy.deepcopy(DOCUMENT)
    change(changed)
    assert version_id(encode(changed)) != EXPECTED_ID


def test_decode_round_trips_and_refuses_other_documents() -> None:
    content = decode_content(EXPECTED_BYTES)
    assert encode_content(content) == EXPECTED_BYTES
    plain = json.loads(EXPECTED_BYTES)
    plain["format"] = "something/v9"
    with pytest.raises(SuiteError, match="format"):
        decode_content(canonical_json(plain))
    with pytest.raises(SuiteError, match="not a suite document"):
        decode_content(b"\xff not json")


def test_verify_refuses_bytes_that_do_not_match_their_id() -> None:
    verify(EXPECTED_BYTES, EXPECTED_ID)
    with pytest.raises(SuiteIntegrityError):
        verify(EXPECTED_BYTES + b" ", EXPECTED_ID)


def test_total_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CONTENT_BYTES", len(EXPECTED_BYTES) - 1)
    with pytest.raises(SuiteError, match="as canonical JSON; the limit is"):
        encode(DOCUMENT)


def test_canonical_json_refuses_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"x": float("nan")})
    assert FORMAT == "tokenroute.suite/v1"
