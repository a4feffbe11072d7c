"""Resource ids: a short type prefix and 20 random lowercase base32 characters.

Ids are safe as Table keys, blob name segments and secret-name parts, and are checked against
their pattern before any storage call, so nothing a caller sends reaches a query unchecked.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import Path

_BODY_LEN = 20
ID_PATTERN = r"^[a-z]{2,4}_[a-z2-7]{20}$"
_ID = re.compile(ID_PATTERN)


def new_id(prefix: str) -> str:
    """A fresh random id such as `prj_k3v...` (100 bits of randomness)."""
    if not re.fullmatch(r"[a-z]{2,4}", prefix):
        raise ValueError("id prefixes are 2-4 lowercase letters")
    body = base64.b32encode(secrets.token_bytes(15)).decode().lower()[:_BODY_LEN]
    return f"{prefix}_{body}"


# Base32 digits in ASCII order, so that a larger number is a later string.
_SORTABLE_DIGITS = "234567abcdefghijklmnopqrstuvwxyz"
_TIME_DIGITS = 9  # 45 bits of milliseconds: until the year 3084
_TIME_MAX = 32**_TIME_DIGITS - 1


def newest_first_id(prefix: str, at: datetime) -> str:
    """An id of the same shape as `new_id` whose order as a string is newest first: 9 characters of
    inverted milliseconds since the epoch, then 11 random ones (55 bits). Table Storage lists rows by
    RowKey, so a partition of such ids (runs) lists the latest first without an index."""
    if not re.fullmatch(r"[a-z]{2,4}", prefix):
        raise ValueError("id prefixes are 2-4 lowercase letters")
    value = _TIME_MAX - int(at.timestamp() * 1000)
    digits = []
    for _ in range(_TIME_DIGITS):
        value, digit = divmod(value, 32)
        digits.append(_SORTABLE_DIGITS[digit])
    random_part = "".join(secrets.choice(_SORTABLE_DIGITS) for _ in range(_BODY_LEN - _TIME_DIGITS))
    return f"{prefix}_{''.join(reversed(digits))}{random_part}"


def is_id(value: str, prefix: str | None = None) -> bool:
    """True when `value` is a well-formed id (with the given prefix, if any)."""
    if not _ID.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")


def path_id(prefix: str, description: str) -> object:
    """A FastAPI path parameter that only accepts ids of one kind (422 otherwise, before any storage call)."""
    return Path(
        pattern=f"^{prefix}_[a-z2-7]{{{_BODY_LEN}}}$",
        min_length=len(prefix) + 1 + _BODY_LEN,
        max_length=len(prefix) + 1 + _BODY_LEN,
        description=description,
    )


ProjectId = Annotated[str, path_id("prj", "Project id, e.g. `prj_` followed by 20 characters.")]
ApiKeyId = Annotated[str, path_id("key", "API key id, e.g. `key_` followed by 20 characters.")]
