"""Lifecycle functions: the `deletions` queue runs cascades (tenant, project, run, suite), a daily
timer applies retention (and drops provider-call counts older than 7 days).

A poison `deletions` message is only logged: the tombstone stays incomplete (its `steps_done`
shows where it stopped) and the hourly `resend_pending_deletions` timer sends a new message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import azure.functions as func
from pydantic import ValidationError

from shared.lifecycle.messages import DeletionMessage
from shared.services import Services
from shared.storage.catalog import DELETIONS_QUEUE
from shared.storage.names import poison_name

log = logging.getLogger("tokenroute.jobs")

# Daily at 03:00 UTC (six-field NCRONTAB: seconds first).
RETENTION_SCHEDULE = "0 0 3 * * *"
# Hourly at half past: unfinished cascades get a new message.
RESEND_SCHEDULE = "0 30 * * * *"


def _message(msg: func.QueueMessage) -> DeletionMessage | None:
    try:
        return DeletionMessage.model_validate_json(msg.get_body())
    except ValidationError:
        # Retrying a malformed message cannot help; it is dropped with a log line (no body logged).
        log.error("malformed deletion message %s dropped", msg.id)
        return None


def lifecycle_blueprint(services: Services) -> func.Blueprint:
    """The lifecycle functions, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("purge_project")
    @blueprint.queue_trigger(arg_name="msg", queue_name=DELETIONS_QUEUE, connection="AzureWebJobsStorage")
    async def purge_project(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            # Storage and secret calls are synchronous; keep them off the host's event loop.
            await asyncio.to_thread(services.purger.handle, message)

    @blueprint.function_name("purge_project_poison")
    @blueprint.queue_trigger(arg_name="msg", queue_name=poison_name(DELETIONS_QUEUE), connection="AzureWebJobsStorage")
    async def purge_project_poison(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            log.error("%s cascade failed on every delivery; the tombstone records its progress", message.kind)

    @blueprint.function_name("apply_retention")
    @blueprint.timer_trigger(arg_name="timer", schedule=RETENTION_SCHEDULE)
    async def apply_retention(timer: func.TimerRequest) -> None:
        del timer  # the schedule is all we need
        await asyncio.to_thread(services.retention.sweep_all)
        # Provider-call counts are operational data, kept 7 days whatever the project's retention.
        await asyncio.to_thread(services.provider_status.prune)

    @blueprint.function_name("resend_pending_deletions")
    @blueprint.timer_trigger(arg_name="timer", schedule=RESEND_SCHEDULE)
    async def resend_pending_deletions(timer: func.TimerRequest) -> None:
        del timer
        await asyncio.to_thread(resend_pending, services)

    return blueprint


def resend_pending(services: Services) -> int:
    """Re-enqueue cascades left unfinished (a week back, older than a quarter of an hour); returns how many."""
    now = services.clock.now()
    messages = services.purger.pending(now - timedelta(days=7), now - timedelta(minutes=15))
    for message in messages:
        services.deletion_queue.send(message)
    return len(messages)
