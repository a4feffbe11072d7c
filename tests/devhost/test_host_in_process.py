"""The Host API as the launcher uses it, in-process against Azurite: HTTP and queues, encodings, poison."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import azure.functions as func
import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from shared.devhost.azurite import Azurite
from shared.devhost.host import Host, HostError
from shared.devhost.host_config import HostConfig, HostTuning
from tests.support.devhost_process import FAST_HOST_JSON

TUNING = HostTuning(lease_seconds=5, renew_seconds=1, grace_seconds=5)


def queue_app(handled: list[tuple[bytes, int | None]]) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="ping")
    def ping(req: func.HttpRequest) -> str:
        return "pong"

    @app.queue_trigger(arg_name="msg", queue_name="%TEST_QUEUE%", connection="AzureWebJobsStorage")
    async def job(msg: func.QueueMessage) -> None:
        body = msg.get_body()
        handled.append((body, getattr(msg, "dequeue_count", None)))
        if body.startswith(b"fail"):
            raise RuntimeError("failing on purpose")

    return app


@asynccontextmanager
async def serving(host: Host) -> AsyncIterator[Host]:
    """Run `host.serve` in a task until the block ends; then stop it and wait for a clean return."""
    stop = asyncio.Event()
    task = asyncio.create_task(host.serve(stop))
    ready = asyncio.create_task(host.ready.wait())
    await asyncio.wait([task, ready], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        await task  # raises what stopped it
    assert host.ready.is_set()
    try:
        yield host
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def eventually(condition: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


def peek(queue: QueueClient) -> list[Any]:
    try:
        return list(queue.peek_messages(max_messages=32))
    except ResourceNotFoundError:
        return []


def make_host(app: func.FunctionApp, azurite: Azurite, queue: str, **queue_options: Any) -> Host:
    config = HostConfig.from_json(FAST_HOST_JSON)
    config = dataclasses.replace(config, queues=dataclasses.replace(config.queues, **queue_options))
    lookup = {"AzureWebJobsStorage": azurite.connection_string, "TEST_QUEUE": queue}
    return Host(app, config, http_port=0, connection_lookup=lookup, tuning=TUNING)


async def test_host_api_serves_http_and_queue_functions(azurite: Azurite, unique_name: str) -> None:
    handled: list[tuple[bytes, int | None]] = []
    host = make_host(queue_app(handled), azurite, unique_name)
    async with serving(host):
        assert host.http_url == f"http://127.0.0.1:{host.http.port}/api"
        assert [line.split(":")[0] for line in host.describe()] == ["ping", "job"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{host.http_url}/ping")).text == "pong"
        queue = QueueClient.from_connection_string(azurite.connection_string, unique_name)
        queue.send_message("héllo")  # created by the host at start
        await eventually(lambda: handled)
    assert handled == [("héllo".encode(), 1)]


async def test_base64_encoding(azurite: Azurite, unique_name: str) -> None:
    handled: list[tuple[bytes, int | None]] = []
    host = make_host(queue_app(handled), azurite, unique_name, message_encoding="base64", max_dequeue_count=1)
    queue = QueueClient.from_connection_string(
        azurite.connection_string, unique_name, message_encode_policy=TextBase64EncodePolicy()
    )
    raw = QueueClient.from_connection_string(azurite.connection_string, unique_name)
    poison = QueueClient.from_connection_string(azurite.connection_string, unique_name + "-poison")
    async with serving(host):
        queue.send_message("héllo")
        raw.send_message("%%% not base64")
        await eventually(lambda: handled)
        # The undecodable message counts as a failed run: with maxDequeueCount 1 it goes to poison, as sent.
        assert [m.content for m in await eventually(lambda: peek(poison))] == ["%%% not base64"]
    assert handled == [("héllo".encode(), 1)]


async def test_message_already_over_the_dequeue_limit_goes_to_poison_without_running(
    azurite: Azurite, unique_name: str
) -> None:
    queue = QueueClient.from_connection_string(azurite.connection_string, unique_name)
    poison = QueueClient.from_connection_string(azurite.connection_string, unique_name + "-poison")
    queue.create_queue()
    queue.send_message("worn out")
    for _ in range(3):  # dequeued 3 times by someone else; the host's fetch makes it 4 > maxDequeueCount 3
        (message,) = queue.receive_messages(visibility_timeout=30)
        queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)

    handled: list[tuple[bytes, int | None]] = []
    async with serving(make_host(queue_app(handled), azurite, unique_name)):
        assert [m.content for m in await eventually(lambda: peek(poison))] == ["worn out"]
        await eventually(lambda: queue.get_queue_properties().approximate_message_count == 0)
    assert handled == []


async def test_batches_are_bounded_by_batch_size_and_new_batch_threshold(azurite: Azurite, unique_name: str) -> None:
    release = asyncio.Event()
    running: list[int] = []
    peak = 0

    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="%TEST_QUEUE%", connection="AzureWebJobsStorage")
    async def slow(msg: func.QueueMessage) -> None:
        nonlocal peak
        running.append(1)
        peak = max(peak, len(running))
        await release.wait()
        running.pop()

    queue = QueueClient.from_connection_string(azurite.connection_string, unique_name)
    queue.create_queue()
    for index in range(10):
        queue.send_message(str(index))
    async with serving(make_host(app, azurite, unique_name, batch_size=4, new_batch_threshold=2)):
        await eventually(lambda: len(running) == 4)
        await asyncio.sleep(1.0)  # a few polling intervals: nothing more is fetched while 4 > threshold 2
        assert peak == 4
        release.set()
        await eventually(lambda: queue.get_queue_properties().approximate_message_count == 0)
    # At most batchSize + newBatchThreshold run at once (the host fetches again at the threshold).
    assert peak <= 6


async def test_port_in_use_is_a_clear_error(azurite: Azurite, unique_name: str) -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="ping")
    def ping(req: func.HttpRequest) -> str:
        return "pong"

    first = make_host(queue_app([]), azurite, unique_name)
    async with serving(first):
        second = Host(app, HostConfig(), http_port=first.http.port, connection_lookup={}, tuning=TUNING)
        with pytest.raises(HostError, match=r"cannot listen on 127\.0\.0\.1"):
            await second.serve(asyncio.Event())
