"""Project API keys: `trk_<key id>_<secret>`, stored only as an HMAC-SHA256 with a pepper.

The key id lets the API find the key with one point read; the secret (32 random bytes) is
compared in constant time against the stored HMAC, so a database leak reveals no usable key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from shared.ids import new_id

KEY_PREFIX = "trk_"
_KEY = re.compile(r"^trk_(key_[a-z2-7]{20})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class IssuedKey:
    """A newly made key: the full value is shown once, the rest is stored."""

    key_id: str
    value: str
    display_prefix: str


def issue_key() -> tuple[IssuedKey, str]:
    """Make a key; returns it and its secret part (to hash)."""
    key_id = new_id("key")
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    value = f"{KEY_PREFIX}{key_id}_{secret}"
    return IssuedKey(key_id=key_id, value=value, display_prefix=f"{KEY_PREFIX}{key_id}_{secret[:4]}"), secret


def parse_key(value: str) -> tuple[str, str] | None:
    """Split a presented key into (key id, secret); None when it is not shaped like one."""
    match = _KEY.match(value.strip())
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str, pepper: bytes) -> str:
    """The stored form of a key's secret."""
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored_hash: str, pepper: bytes) -> bool:
    """Constant-time comparison of a presented secret with the stored HMAC."""
    return hmac.compare_digest(hash_secret(secret, pepper), stored_hash)
