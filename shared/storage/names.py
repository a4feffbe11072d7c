"""Naming rules of Azure Storage for tables, containers and queues.

Checked when a repository object is built, so a bad name fails at start-up with a clear message
rather than as an HTTP 400 on the first request.
"""

from __future__ import annotations

import re

from shared.storage.errors import InvalidKey

# Tables: 3-63 characters, letters and digits, starting with a letter ("tables" is reserved).
_TABLE = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
# Containers and queues: 3-63 characters, lowercase letters, digits and single hyphens,
# starting and ending with a letter or digit.
_LOWER_DASHED = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")

POISON_SUFFIX = "-poison"


def check_table_name(name: str) -> str:
    """Return `name` if it is a valid table name; raise `InvalidKey` otherwise."""
    if not _TABLE.fullmatch(name) or name.lower() == "tables":
        raise InvalidKey(f"invalid table name {name!r}: 3-63 letters and digits, starting with a letter")
    return name


def check_container_name(name: str) -> str:
    """Return `name` if it is a valid blob container name; raise `InvalidKey` otherwise."""
    if not _LOWER_DASHED.fullmatch(name):
        raise InvalidKey(
            f"invalid container name {name!r}: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def check_queue_name(name: str) -> str:
    """Return `name` if it is a valid queue name that still leaves room for its `-poison` twin."""
    if not _LOWER_DASHED.fullmatch(name) or len(name) > 63 - len(POISON_SUFFIX):
        raise InvalidKey(
            f"invalid queue name {name!r}: 3-{63 - len(POISON_SUFFIX)} lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit (the -poison queue needs the rest)"
        )
    return name


def poison_name(queue: str) -> str:
    """The queue the Functions host (and the local host) moves failed messages to."""
    return check_queue_name(queue) + POISON_SUFFIX
