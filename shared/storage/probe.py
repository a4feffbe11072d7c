"""Health probes: a real write, read-back and delete against each store.

Each probe works in its own `health` table, container or queue (created on first use), with
short timeouts and no retries, so a stopped store is reported within seconds instead of after
the SDK's minute of back-off. Results never carry URLs, keys or SDK messages, only a short
description of what failed.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import CredentialUnavailableError

from shared.storage import catalog
from shared.storage.account import StorageAccount

DEFAULT_TIMEOUT_S: Final = 3.0
R = TypeVar("R")


class _ProbeError(Exception):
    """The store answered, but not with what was written."""


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one round trip: `ok`, a short secret-free `detail`, and how long it took."""

    store: str
    ok: bool
    detail: str
    elapsed_ms: float


def _fast(timeout: float) -> dict[str, Any]:
    """Per-request options: short socket timeouts, a short server timeout, no retries."""
    return {
        "retry_total": 0,
        "connection_timeout": timeout,
        "read_timeout": timeout,
        "timeout": max(1, int(timeout)),
    }


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _ProbeError):
        return str(exc)
    if isinstance(exc, CredentialUnavailableError):
        return "no Azure credential available"
    if isinstance(exc, ClientAuthenticationError):
        return "storage refused the credentials"
    if isinstance(exc, ServiceRequestError):
        return "cannot connect"
    if isinstance(exc, ServiceResponseError):
        return "no answer in time"
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None)
        return f"HTTP {exc.status_code}" + (f" {getattr(code, 'value', code)}" if code else "")
    if isinstance(exc, AzureError):
        return type(exc).__name__
    return f"unexpected {type(exc).__name__}"


def _run(store: str, round_trip: Callable[[], str]) -> ProbeResult:
    started = time.monotonic()
    try:
        detail = round_trip()
        ok = True
    except Exception as exc:  # a probe reports every failure; it never raises
        detail, ok = _describe(exc), False
    return ProbeResult(store, ok, detail, round((time.monotonic() - started) * 1000, 1))


def _creating(operation: Callable[[], R], create: Callable[[], object]) -> R:
    """Run `operation`; if its table/container/queue is missing, create it and run it again."""
    try:
        return operation()
    except ResourceNotFoundError:
        with contextlib.suppress(ResourceExistsError):  # another probe created it meanwhile
            create()
        return operation()


def check_tables(account: StorageAccount, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Upsert, read back and delete an entity in the `health` table."""
    client = account.table_client(catalog.HEALTH_TABLE)
    fast = _fast(timeout)

    def round_trip() -> str:
        key = uuid.uuid4().hex
        entity = {"PartitionKey": "probe", "RowKey": key, "value": key}
        _creating(lambda: client.upsert_entity(entity, **fast), lambda: client.create_table(**fast))
        try:
            if client.get_entity("probe", key, **fast).get("value") != key:
                raise _ProbeError("read back a different entity")
        finally:
            client.delete_entity("probe", key, **fast)
        return "round trip ok"

    return _run("tables", round_trip)


def check_blobs(account: StorageAccount, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Upload, download and delete a small blob in the `health` container."""
    container = account.container_client(catalog.HEALTH_CONTAINER)
    fast = _fast(timeout)

    def round_trip() -> str:
        key = uuid.uuid4().hex
        blob = container.get_blob_client(f"probe/{key}.txt")
        payload = key.encode()
        _creating(lambda: blob.upload_blob(payload, overwrite=True, **fast), lambda: container.create_container(**fast))
        try:
            if blob.download_blob(**fast).readall() != payload:
                raise _ProbeError("read back different bytes")
        finally:
            blob.delete_blob(**fast)
        return "round trip ok"

    return _run("blobs", round_trip)


def check_queues(account: StorageAccount, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Send, peek and delete a message in the `health` queue.

    Peeking (not receiving) leaves concurrent probes' messages visible to them; a short time to
    live cleans up after a probe that died between send and delete.
    """
    queue = account.queue_client(catalog.HEALTH_QUEUE)
    fast = _fast(timeout)

    def round_trip() -> str:
        key = uuid.uuid4().hex
        sent = _creating(lambda: queue.send_message(key, time_to_live=60, **fast), lambda: queue.create_queue(**fast))
        try:
            peeked = queue.peek_messages(max_messages=32, **fast)
            if not any(message.id == sent.id and message.content == key for message in peeked):
                raise _ProbeError("sent message not seen")
        finally:
            queue.delete_message(sent.id, sent.pop_receipt, **fast)
        return "round trip ok"

    return _run("queues", round_trip)


def check_all(account: StorageAccount, *, timeout: float = DEFAULT_TIMEOUT_S) -> list[ProbeResult]:
    """The three probes, run in parallel threads; results in the order tables, blobs, queues."""
    checks = (check_tables, check_blobs, check_queues)
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="storage-probe") as pool:
        futures = [pool.submit(check, account, timeout=timeout) for check in checks]
        return [future.result() for future in futures]
