"""Every table, blob container and queue TokenRoute uses, in one place.

Add a name here (with a line saying what it holds) before using it anywhere; the deployment
infrastructure and its test read these mappings, and `tests/storage/test_catalog.py` checks every
name against the service's naming rules. Queues listed here get a `<name>-poison` twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from shared.storage.names import poison_name

HEALTH_TABLE: Final = "health"
HEALTH_CONTAINER: Final = "health"
HEALTH_QUEUE: Final = "health"

TABLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_TABLE: "round trips of the health probe (written and deleted at once)",
    }
)

CONTAINERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_CONTAINER: "round trips of the health probe (written and deleted at once)",
    }
)

QUEUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_QUEUE: "round trips of the health probe (no trigger reads it)",
    }
)


def all_queue_names() -> list[str]:
    """Every queue to provision: the ones above and their poison twins."""
    return sorted({*QUEUES, *(poison_name(name) for name in QUEUES)})
