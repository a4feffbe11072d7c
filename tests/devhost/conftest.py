"""Fixtures only the local-host tests use (the `devhost` factory itself is in tests/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from shared.devhost.azurite import Azurite


@pytest.fixture
def queue_pair(azurite: Azurite, unique_name: str) -> Iterator[tuple[QueueClient, QueueClient]]:
    """The test queue (created by the host) and its poison queue, as SDK clients; deleted afterwards."""
    queue = QueueClient.from_connection_string(azurite.connection_string, unique_name)
    poison = QueueClient.from_connection_string(azurite.connection_string, unique_name + "-poison")
    try:
        yield queue, poison
    finally:
        for client in (
            queue,
            poison,
            QueueClient.from_connection_string(azurite.connection_string, unique_name + "-sync"),
        ):
            with contextlib.suppress(ResourceNotFoundError):
                client.delete_queue()
            client.close()
