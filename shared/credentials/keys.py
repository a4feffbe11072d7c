"""What a provider key may look like, and how its owner recognizes it without seeing it."""

from __future__ import annotations

KEY_MIN_CHARS = 8
KEY_MAX_CHARS = 512
# Below this length the last four characters would be too large a share of the key to show.
_FINGERPRINT_MIN_CHARS = 12


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a provider key, or None. Never quotes the key."""
    if not KEY_MIN_CHARS <= len(key) <= KEY_MAX_CHARS:
        return f"the key must be {KEY_MIN_CHARS}-{KEY_MAX_CHARS} characters"
    # Keys travel in HTTP headers: printable ASCII without spaces is what every provider issues, and
    # anything else would fail later inside h11 with an error quoting the header.
    if not all(0x21 <= ord(char) <= 0x7E for char in key):
        return "the key must be printable ASCII without spaces or control characters"
    return None


def fingerprint(key: str) -> str:
    """What identifies a key to its owner without revealing it: its last four characters."""
    return "…" + key[-4:] if len(key) >= _FINGERPRINT_MIN_CHARS else "…"
