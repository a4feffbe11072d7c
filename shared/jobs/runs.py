"""Queue functions of runs: one `run-shards` message is one shard; its poison twin fails the shard."""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func
from pydantic import ValidationError

from shared.lifecycle.activation import ActivationEvent
from shared.runs.models import RunStatus, ShardMessage
from shared.services import Services
from shared.storage.catalog import RUN_SHARDS_QUEUE
from shared.storage.names import poison_name

log = logging.getLogger("tokenroute.jobs")


def _message(msg: func.QueueMessage) -> ShardMessage | None:
    try:
        return ShardMessage.model_validate_json(msg.get_body())
    except ValidationError:
        # Retrying a malformed message cannot help; it is dropped with a log line (no body logged).
        log.error("malformed shard message %s dropped", msg.id)
        return None


def _note_if_completed(services: Services, message: ShardMessage) -> None:
    """The tenant's first completed run is an activation step (one point read per shard message)."""
    record = services.runs.find(message.tenant_id, message.project_id, message.run_id)
    if record is not None and record.status == RunStatus.COMPLETED:
        services.activation.note(message.tenant_id, ActivationEvent.RUN_COMPLETED)


def run_blueprint(services: Services) -> func.Blueprint:
    """The run queue functions, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("run_shard")
    @blueprint.queue_trigger(arg_name="msg", queue_name=RUN_SHARDS_QUEUE, connection="AzureWebJobsStorage")
    async def run_shard(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            await services.shard_worker.handle(message)
            await asyncio.to_thread(_note_if_completed, services, message)

    @blueprint.function_name("run_shard_poison")
    @blueprint.queue_trigger(arg_name="msg", queue_name=poison_name(RUN_SHARDS_QUEUE), connection="AzureWebJobsStorage")
    async def run_shard_poison(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            await services.shard_worker.give_up(message, "the shard failed on every delivery")

    return blueprint
