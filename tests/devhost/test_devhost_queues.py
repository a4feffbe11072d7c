"""The local host runs queue functions in a real process against Azurite: once, retries, poison, crashes."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage

from shared.devhost.azurite import Azurite
from tests.support.devhost_process import DevHostProcess, wait_until

pytestmark = pytest.mark.slow

APP = "tests.devhost.apps.queue_app:app"


def message(message_id: str, mode: str, seconds: float | None = None) -> str:
    body: dict[str, object] = {"id": message_id, "mode": mode}
    if seconds is not None:
        body["seconds"] = seconds
    return json.dumps(body)


def stored_count(queue: QueueClient) -> int:
    """Messages still in the queue, visible or not (a deleted message no longer counts)."""
    return int(queue.get_queue_properties().approximate_message_count or 0)


def peek(queue: QueueClient) -> list[QueueMessage]:
    """Visible messages; none while the queue does not exist yet."""
    try:
        return list(queue.peek_messages(max_messages=32))
    except ResourceNotFoundError:
        return []


def starts(host: DevHostProcess, message_id: str) -> list[dict[str, object]]:
    return [r for r in host.records("start") if r["id"] == message_id]


def test_message_is_handled_once_and_deleted(
    devhost: Callable[..., DevHostProcess], queue_pair: tuple[QueueClient, QueueClient], azurite: Azurite
) -> None:
    queue, _ = queue_pair
    host = devhost(APP, DEVHOST_TEST_QUEUE=queue.queue_name)
    sync_queue = QueueClient.from_connection_string(azurite.connection_string, queue.queue_name + "-sync")

    queue.send_message(message("async-1", "ok"))
    sync_queue.send_message(message("sync-1", "ok"))

    wait_until(lambda: len(host.records("done")) == 2, 20, "both messages to be handled")
    wait_until(lambda: stored_count(queue) == 0 and stored_count(sync_queue) == 0, 10, "both messages deleted")
    done = {(r["id"], r["function"], r["dequeue_count"]) for r in host.records("done")}
    assert done == {("async-1", "handle", 1), ("sync-1", "handle_sync", 1)}
    assert len(host.records("start")) == 2


def test_failing_message_is_tried_max_dequeue_count_times_then_poisoned(
    devhost: Callable[..., DevHostProcess], queue_pair: tuple[QueueClient, QueueClient]
) -> None:
    queue, poison = queue_pair
    host = devhost(APP, DEVHOST_TEST_QUEUE=queue.queue_name)  # host.json: maxDequeueCount 3, visibilityTimeout 1 s
    original = message("bad-1", "fail")
    queue.send_message(original)

    poisoned = wait_until(lambda: peek(poison), 30, "the poison queue to get it")
    assert [m.content for m in poisoned] == [original]
    wait_until(lambda: stored_count(queue) == 0, 10, "the original to be deleted")
    assert [r["dequeue_count"] for r in starts(host, "bad-1")] == [1, 2, 3]

    time.sleep(2.5)  # longer than visibilityTimeout plus a poll: a 4th attempt would show by now
    assert len(starts(host, "bad-1")) == 3


def test_message_in_flight_when_killed_runs_again_after_restart(
    devhost: Callable[..., DevHostProcess], queue_pair: tuple[QueueClient, QueueClient]
) -> None:
    queue, _ = queue_pair
    host = devhost(
        APP,
        DEVHOST_TEST_QUEUE=queue.queue_name,
        TOKENROUTE_DEVHOST_LEASE_SECONDS="2",
        TOKENROUTE_DEVHOST_RENEW_SECONDS="0.5",
    )
    queue.send_message(message("crash-1", "hang_first"))  # hangs on its first delivery only
    wait_until(lambda: starts(host, "crash-1"), 20, "the first delivery to start")

    # Past the 2 s lease the message is still hidden: the host renews it while the function runs.
    time.sleep(3)
    assert list(queue.peek_messages()) == []

    host.kill()  # SIGKILL: no clean-up at all
    host.start()
    wait_until(lambda: [r for r in host.records("done") if r["id"] == "crash-1"], 20, "the redelivery to finish")
    assert [r["dequeue_count"] for r in starts(host, "crash-1")] == [1, 2]
    wait_until(lambda: stored_count(queue) == 0, 10, "the message to be deleted")


def test_sigterm_lets_a_running_message_finish(
    devhost: Callable[..., DevHostProcess], queue_pair: tuple[QueueClient, QueueClient]
) -> None:
    queue, _ = queue_pair
    host = devhost(APP, DEVHOST_TEST_QUEUE=queue.queue_name)
    queue.send_message(message("term-1", "sleep", seconds=1.5))
    wait_until(lambda: starts(host, "term-1"), 20, "the message to start")

    host.signal(signal.SIGTERM)
    assert host.wait(timeout=30) == 0
    assert [r["id"] for r in host.records("done")] == ["term-1"]
    assert stored_count(queue) == 0


def test_sigterm_releases_messages_still_running_after_the_grace_period(
    devhost: Callable[..., DevHostProcess], queue_pair: tuple[QueueClient, QueueClient], azurite: Azurite
) -> None:
    queue, _ = queue_pair
    sync_queue = QueueClient.from_connection_string(azurite.connection_string, queue.queue_name + "-sync")
    # The default 30 s lease: only an explicit release makes the messages visible again soon.
    host = devhost(APP, DEVHOST_TEST_QUEUE=queue.queue_name, TOKENROUTE_DEVHOST_GRACE_SECONDS="0.5")
    queue.send_message(message("slow-async", "sleep", seconds=120))
    sync_queue.send_message(message("slow-sync", "sleep", seconds=120))
    wait_until(lambda: len(host.records("start")) == 2, 20, "both messages to start")

    host.signal(signal.SIGTERM)
    assert host.wait(timeout=20) == 0
    assert host.records("done") == []
    assert [json.loads(m.content)["id"] for m in queue.peek_messages()] == ["slow-async"]
    assert [json.loads(m.content)["id"] for m in sync_queue.peek_messages()] == ["slow-sync"]
