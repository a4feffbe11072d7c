"""Health probes: ok against Azurite, quickly not ok when nothing (or something silent) listens."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from shared.devhost.azurite import AzuritePorts
from shared.storage.account import StorageAccount
from shared.storage.emulator import DEV_ACCOUNT_KEY
from shared.storage.probe import check_all, check_blobs, check_queues, check_tables


def test_probes_pass_against_azurite(account: StorageAccount) -> None:
    for _ in range(2):  # the first run may create the health resources; the second finds them
        results = check_all(account)
        assert [result.store for result in results] == ["tables", "blobs", "queues"]
        assert all(result.ok for result in results), results
        assert all(result.elapsed_ms >= 0 for result in results)
    # Round trips clean up after themselves.
    assert list(account.table_client("health").list_entities()) == []
    assert list(account.container_client("health").list_blobs()) == []
    assert account.queue_client("health").peek_messages() == []


def test_probes_fail_fast_when_nothing_listens() -> None:
    dead = StorageAccount.from_connection_string(AzuritePorts.free().connection_string())
    started = time.monotonic()
    results = [check(dead) for check in (check_tables, check_blobs, check_queues)]
    assert time.monotonic() - started < 10
    for result in results:
        assert not result.ok
        assert result.detail == "cannot connect"
        assert DEV_ACCOUNT_KEY not in result.detail


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def test_probe_times_out_when_the_store_does_not_answer(silent_port: int) -> None:
    ports = AzuritePorts(blob=silent_port, queue=silent_port, table=silent_port)
    silent = StorageAccount.from_connection_string(ports.connection_string())
    started = time.monotonic()
    result = check_tables(silent, timeout=1.0)
    assert time.monotonic() - started < 10
    assert not result.ok
    assert result.detail == "no answer in time"
