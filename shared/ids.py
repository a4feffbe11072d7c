"""Resource ids: a short type prefix and 20 random lowercase base32 characters.

Ids are safe as Table keys, blob name segments and secret-name parts, and are checked against
their pattern before any storage call, so nothing a caller sends reaches a query unchecked.
"""

from __future__ import annotations

import base64
import re
import secrets
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
