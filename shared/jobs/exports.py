"""Export functions: one `exports` message builds one pack, its poison twin marks it failed, and a daily
timer deletes packs past their lifetime."""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func
from pydantic import ValidationError

from shared.exports.builder import handle
from shared.exports.expiry import expire_lifetime
from shared.exports.models import ExportMessage, ExportStatus
from shared.services import Services
from shared.storage.catalog import EXPORTS_QUEUE
from shared.storage.names import poison_name

log = logging.getLogger("tokenroute.jobs")

# Daily at 03:30 UTC (six-field NCRONTAB: seconds first), after the retention sweep.
EXPIRY_SCHEDULE = "0 30 3 * * *"


def _message(msg: func.QueueMessage) -> ExportMessage | None:
    try:
        return ExportMessage.model_validate_json(msg.get_body())
    except ValidationError:
        # Retrying a malformed message cannot help; it is dropped with a log line (no body logged).
        log.error("malformed export message %s dropped", msg.id)
        return None


def give_up(services: Services, message: ExportMessage) -> None:
    """Every delivery failed: say so on the row, so pollers stop waiting."""
    record = services.exports.find(message.tenant_id, message.project_id, message.export_id)
    if record is not None and record.status in (ExportStatus.QUEUED, ExportStatus.BUILDING):
        services.exports.transition(record, status=ExportStatus.FAILED, failure="the pack could not be built")


def export_blueprint(services: Services) -> func.Blueprint:
    """The export queue functions, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("build_export")
    @blueprint.queue_trigger(arg_name="msg", queue_name=EXPORTS_QUEUE, connection="AzureWebJobsStorage")
    async def build_export(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            # The Azure SDK is synchronous: building runs on a worker thread, off the event loop.
            await asyncio.to_thread(handle, services, message)

    @blueprint.function_name("build_export_poison")
    @blueprint.queue_trigger(arg_name="msg", queue_name=poison_name(EXPORTS_QUEUE), connection="AzureWebJobsStorage")
    async def build_export_poison(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            await asyncio.to_thread(give_up, services, message)

    @blueprint.function_name("expire_packs")
    @blueprint.timer_trigger(arg_name="timer", schedule=EXPIRY_SCHEDULE)
    async def expire_packs(timer: func.TimerRequest) -> None:
        del timer  # the schedule is all we need
        expired = await asyncio.to_thread(expire_lifetime, services.exports, services.audit, services.clock.now())
        log.info("%d packs expired", len(expired))

    return blueprint
