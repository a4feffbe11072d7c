"""Poll one storage queue for one queue-triggered function, as the Functions host's QueueListener does.

- Fetches up to `batchSize` messages, and fetches again once the number still running drops to
  `newBatchThreshold`; empty polls back off exponentially up to `maxPollingInterval`.
- A fetched message is leased (invisible for `lease_seconds`) and the lease is renewed while its
  function runs, so a slow function is not handed to a second consumer; after a crash the lease
  simply expires and the message comes back.
- Success deletes the message. Failure makes it visible again after `visibilityTimeout`, unless it
  has been dequeued `maxDequeueCount` times: then it moves to `<queue>-poison`. A message fetched
  with a dequeue count already above the limit goes to poison without running.
- On shutdown, polling stops; running functions get a grace period, after which their messages are
  made visible at once (and async functions are cancelled), so nothing is lost.

The sync SDK client runs in `io_executor` threads, apart from the user functions' threads, so
busy sync functions cannot starve lease renewals.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import enum
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueClient, QueueMessage

from shared.devhost.functions import FunctionSpec, InvocationContext, Invoker
from shared.devhost.host_config import HostTuning, QueueOptions

log = logging.getLogger("tokenroute.devhost.queues")

T = TypeVar("T")

# The first back-off step after an empty poll; it doubles up to maxPollingInterval.
MIN_POLLING_INTERVAL = 0.1
POISON_SUFFIX = "-poison"


class _Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


@dataclass
class _InFlight:
    """A fetched message and its lease (the pop receipt changes at each renewal)."""

    message_id: str
    pop_receipt: str
    content: str
    dequeue_count: int
    source: QueueMessage
    task: asyncio.Task[None] | None = None
    running: bool = False
    lease_lost: bool = False
    stop_renewing: asyncio.Event = field(default_factory=asyncio.Event)


class QueueListener:
    """Runs `spec` for the messages of one queue.

    `run` polls until `stop_polling`; the host then waits for `tasks()` within its grace period and
    calls `abandon_running` for the rest, whose messages become visible again at once.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        client: QueueClient,
        poison_client: QueueClient,
        options: QueueOptions,
        tuning: HostTuning,
        invoker: Invoker,
        io_executor: Executor,
    ) -> None:
        self.spec = spec
        self.client = client
        self.poison_client = poison_client
        self.options = options
        self.tuning = tuning
        self.invoker = invoker
        self.io_executor = io_executor
        self.in_flight: dict[str, _InFlight] = {}
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()
        self._poison_ready = False
        self._failing = False

    @property
    def queue_name(self) -> str:
        """The queue this listener polls."""
        return str(self.client.queue_name)

    async def prepare(self) -> None:
        """Create the queue if it is missing, as the Functions host does at start."""
        await self._io(_create_queue, self.client)

    def stop_polling(self) -> None:
        """Stop fetching messages; running functions go on."""
        self._stopping.set()
        self._changed.set()

    async def run(self) -> None:
        """Poll until `stop_polling`; each fetched message runs in its own task."""
        delay = 0.0
        while not self._stopping.is_set():
            await self._wait_for_capacity()
            if self._stopping.is_set():
                break
            messages = await self._fetch()
            for message in messages:
                self._start(message)
            if messages:
                delay = 0.0
                continue
            interval = self.options.max_polling_interval.total_seconds()
            delay = min(interval, max(MIN_POLLING_INTERVAL, delay * 2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    def tasks(self) -> list[asyncio.Task[None]]:
        """The tasks of the messages being handled now."""
        return [record.task for record in self.in_flight.values() if record.task is not None]

    def abandon_running(self) -> None:
        """Cancel the functions still running; their messages are made visible again at once."""
        for record in list(self.in_flight.values()):
            if record.running and record.task is not None:
                record.task.cancel()  # _run_function turns this into the ABANDONED outcome

    async def _wait_for_capacity(self) -> None:
        while len(self.in_flight) > self.options.new_batch_threshold and not self._stopping.is_set():
            self._changed.clear()
            await self._changed.wait()

    async def _fetch(self) -> list[QueueMessage]:
        try:
            messages = await self._io(_receive, self.client, self.options.batch_size, self.tuning.lease_seconds)
        except AzureError as error:
            if not self._failing:
                log.warning("cannot poll queue %s: %s", self.queue_name, type(error).__name__)
            self._failing = True
            return []
        if self._failing:
            log.info("polling queue %s again", self.queue_name)
            self._failing = False
        return messages

    def _start(self, message: QueueMessage) -> None:
        record = _InFlight(
            message_id=str(message.id),
            pop_receipt=str(message.pop_receipt),
            content=str(message.content or ""),
            dequeue_count=int(message.dequeue_count or 1),
            source=message,
        )
        self.in_flight[record.message_id] = record
        record.task = asyncio.create_task(self._process(record), name=f"devhost-queue-{self.queue_name}")
        record.task.add_done_callback(functools.partial(self._finished, record))

    def _finished(self, record: _InFlight, task: asyncio.Task[None]) -> None:
        self.in_flight.pop(record.message_id, None)
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("queue %s: handling message %s failed", self.queue_name, record.message_id,
                      exc_info=task.exception())  # fmt: skip

    async def _process(self, record: _InFlight) -> None:
        limit = self.options.max_dequeue_count
        if record.dequeue_count > limit:
            log.warning(
                "queue %s: message %s was dequeued %d times (limit %d); moving it to poison without running",
                self.queue_name, record.message_id, record.dequeue_count, limit, extra=self._extra(record),
            )  # fmt: skip
            await self._move_to_poison(record)
            return
        outcome = await self._run_function(record)
        if outcome is _Outcome.SUCCEEDED:
            await self._settle(record, "delete")
        elif outcome is _Outcome.ABANDONED:
            await self._settle(record, "release", visibility=0)
        elif record.dequeue_count >= limit:
            log.warning(
                "queue %s: message %s failed %d times; moving it to %s%s",
                self.queue_name, record.message_id, record.dequeue_count, self.queue_name, POISON_SUFFIX,
                extra=self._extra(record),
            )  # fmt: skip
            await self._move_to_poison(record)
        else:
            visibility = int(self.options.visibility_timeout.total_seconds())
            await self._settle(record, "release", visibility=visibility)

    async def _run_function(self, record: _InFlight) -> _Outcome:
        try:
            message = self._function_message(record)
        except ValueError as error:
            log.error("queue %s: message %s cannot be decoded: %s", self.queue_name, record.message_id, error)
            return _Outcome.FAILED
        context = InvocationContext(
            self.spec.name,
            self.spec.directory,
            retry_count=record.dequeue_count - 1,
            max_retry_count=self.options.max_dequeue_count - 1,
        )
        renewer = asyncio.create_task(self._keep_invisible(record))
        record.running = True
        try:
            reason = f"New queue message detected on '{self.queue_name}'."
            await self.invoker.invoke(self.spec, message, context, reason)
            return _Outcome.SUCCEEDED
        except asyncio.CancelledError:
            # Only abandon_running() cancels, and only while the function runs; the caller releases the message.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            return _Outcome.ABANDONED
        except Exception:
            return _Outcome.FAILED
        finally:
            record.running = False
            record.stop_renewing.set()
            await renewer

    def _function_message(self, record: _InFlight) -> FunctionQueueMessage:
        source = record.source
        return FunctionQueueMessage(  # type: ignore[no-untyped-call]
            id=record.message_id,
            body=self._decode(record.content),
            dequeue_count=record.dequeue_count,
            expiration_time=source.expires_on,
            insertion_time=source.inserted_on,
            time_next_visible=source.next_visible_on,
            pop_receipt=record.pop_receipt,
        )

    def _decode(self, content: str) -> bytes:
        if self.options.message_encoding == "none":
            return content.encode("utf-8")
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as error:
            raise ValueError("the message is not valid base64 (host.json messageEncoding is base64)") from error

    async def _keep_invisible(self, record: _InFlight) -> None:
        """Renew the lease every renew_seconds until told to stop; the pop receipt changes each time."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(record.stop_renewing.wait(), timeout=self.tuning.renew_seconds)
                return
            try:
                record.pop_receipt = await self._io(
                    _set_visibility, self.client, record.message_id, record.pop_receipt, self.tuning.lease_seconds
                )
            except AzureError as error:
                # The lease expired (e.g. the loop was blocked) and someone else may run the message:
                # delivery is at least once, and handlers are idempotent.
                log.warning(
                    "queue %s: lost the lease on message %s (%s); it may run again",
                    self.queue_name, record.message_id, type(error).__name__, extra=self._extra(record),
                )  # fmt: skip
                record.lease_lost = True
                return

    async def _settle(self, record: _InFlight, action: str, visibility: int = 0) -> None:
        if record.lease_lost:
            return
        try:
            if action == "delete":
                await self._io(_delete, self.client, record.message_id, record.pop_receipt)
            else:
                await self._io(_set_visibility, self.client, record.message_id, record.pop_receipt, visibility)
        except AzureError as error:
            log.warning(
                "queue %s: could not %s message %s (%s); it will come back when its lease ends",
                self.queue_name, action, record.message_id, type(error).__name__, extra=self._extra(record),
            )  # fmt: skip

    async def _move_to_poison(self, record: _InFlight) -> None:
        # Copy first, then delete: a crash in between duplicates the message rather than losing it.
        try:
            if not self._poison_ready:
                await self._io(_create_queue, self.poison_client)
                self._poison_ready = True
            await self._io(self.poison_client.send_message, record.content)
        except AzureError as error:
            log.error(
                "queue %s: could not move message %s to poison (%s)",
                self.queue_name, record.message_id, type(error).__name__, extra=self._extra(record),
            )  # fmt: skip
            return
        await self._settle(record, "delete")

    def _extra(self, record: _InFlight) -> dict[str, Any]:
        return {"queue": self.queue_name, "message_id": record.message_id, "dequeue_count": record.dequeue_count}

    async def _io(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.io_executor, functools.partial(call, *args))


def _create_queue(client: QueueClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()


def _receive(client: QueueClient, count: int, lease_seconds: int) -> list[QueueMessage]:
    # One request for up to `count` messages: the first page of the pager, never a second one.
    pages = client.receive_messages(messages_per_page=count, visibility_timeout=lease_seconds).by_page()
    page = next(pages, None)
    return list(page) if page is not None else []


def _set_visibility(client: QueueClient, message_id: str, pop_receipt: str, seconds: int) -> str:
    # Passing the id (not the message) leaves the content untouched: only the visibility changes.
    updated = client.update_message(message_id, pop_receipt, visibility_timeout=seconds)
    return str(updated.pop_receipt)


def _delete(client: QueueClient, message_id: str, pop_receipt: str) -> None:
    client.delete_message(message_id, pop_receipt)
