"""Queue functions whose behaviour each message chooses: succeed, fail, sleep, or hang on first delivery.

The queue is named by DEVHOST_TEST_QUEUE (async function) and DEVHOST_TEST_QUEUE-sync (sync function).
A message is JSON: {"id": ..., "mode": "ok" | "fail" | "sleep" | "hang_first", "seconds": n}.
"""

from __future__ import annotations

import asyncio
import json
import time

import azure.functions as func

from tests.devhost.apps._record import record

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_TEST_QUEUE%", connection="AzureWebJobsStorage")
async def handle(msg: func.QueueMessage) -> None:
    """Async handler: runs on the host's event loop."""
    body = json.loads(msg.get_body())
    count = getattr(msg, "dequeue_count", None)
    record("start", id=body["id"], dequeue_count=count, function="handle")
    if body["mode"] == "fail":
        raise RuntimeError("this message always fails")
    if body["mode"] == "sleep" or (body["mode"] == "hang_first" and count == 1):
        await asyncio.sleep(float(body.get("seconds", 3600)))
    record("done", id=body["id"], dequeue_count=count, function="handle")


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_TEST_QUEUE%-sync", connection="AzureWebJobsStorage")
def handle_sync(msg: func.QueueMessage) -> None:
    """Sync handler: runs in the host's thread pool."""
    body = json.loads(msg.get_body())
    count = getattr(msg, "dequeue_count", None)
    record("start", id=body["id"], dequeue_count=count, function="handle_sync")
    if body["mode"] == "fail":
        raise RuntimeError("this message always fails")
    if body["mode"] == "sleep":
        time.sleep(float(body.get("seconds", 1)))
    record("done", id=body["id"], dequeue_count=count, function="handle_sync")
