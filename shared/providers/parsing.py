"""Typed accessors for untrusted provider JSON: a wrong type reads as "not reported", never as a crash or a guess."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty dict (providers send `null` for absent objects)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """`value` if it is a non-empty string, else None (Azure's filter chunk reports `"model": ""`)."""
    return value if isinstance(value, str) and value else None


def as_count(value: Any) -> int | None:
    """A token count: a non-negative integer, else None. `bool` is excluded although it is an `int`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def get_path(mapping: Mapping[str, Any], *keys: str) -> Any:
    """Walk nested objects; None as soon as a level is missing or not an object."""
    current: Any = mapping
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def loads_object(data: str | bytes) -> dict[str, Any] | None:
    """Parse a JSON object; None for invalid JSON or a non-object value."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
