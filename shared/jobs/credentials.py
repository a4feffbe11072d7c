"""Queue functions of credentials: one `credential-validations` message is one validation; its poison twin
records that the validation could not be completed."""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func
from pydantic import ValidationError

from shared.credentials.records import CredentialValidationMessage, ValidationState
from shared.credentials.validation import CredentialValidator
from shared.lifecycle.activation import ActivationEvent
from shared.services import Services
from shared.storage.catalog import CREDENTIAL_VALIDATIONS_QUEUE
from shared.storage.names import poison_name

log = logging.getLogger("tokenroute.jobs")


def _message(msg: func.QueueMessage) -> CredentialValidationMessage | None:
    try:
        return CredentialValidationMessage.model_validate_json(msg.get_body())
    except ValidationError:
        # Retrying a malformed message cannot help; it is dropped with a log line (no body logged).
        log.error("malformed credential validation message %s dropped", msg.id)
        return None


def _note_if_valid(services: Services, message: CredentialValidationMessage) -> None:
    """The tenant's first validated credential is an activation step (one point read per validation)."""
    record = services.credentials.find(message.tenant_id, message.project_id, message.credential_id)
    if record is not None and record.validation_state == ValidationState.VALID:
        services.activation.note(message.tenant_id, ActivationEvent.CREDENTIAL_VALIDATED)


def credential_blueprint(services: Services) -> func.Blueprint:
    """The credential queue functions, bound to the process's services (and its SSRF-guarded client)."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    def validator() -> CredentialValidator:
        # Built per message (it holds no state) so that importing the app touches no secret backend.
        return CredentialValidator(services.credentials, services.http)

    @blueprint.function_name("validate_credential")
    @blueprint.queue_trigger(arg_name="msg", queue_name=CREDENTIAL_VALIDATIONS_QUEUE, connection="AzureWebJobsStorage")
    async def validate_credential(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            await validator().handle(message)
            await asyncio.to_thread(_note_if_valid, services, message)

    @blueprint.function_name("validate_credential_poison")
    @blueprint.queue_trigger(
        arg_name="msg", queue_name=poison_name(CREDENTIAL_VALIDATIONS_QUEUE), connection="AzureWebJobsStorage"
    )
    async def validate_credential_poison(msg: func.QueueMessage) -> None:
        message = _message(msg)
        if message is not None:
            await validator().give_up(message)

    return blueprint
