"""The credential store and the validator on real Azurite: ETag-guarded writes, stale results dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from shared.config import Settings
from shared.credentials.records import CredentialRecord, CredentialValidationMessage, ValidationState
from shared.credentials.store import CredentialDetails
from shared.credentials.validation import CredentialValidator
from shared.ids import new_id
from shared.providers.client import new_http_client
from shared.secrets import SecretNotFound, SecretRef
from shared.services import Services
from shared.storage import ConcurrencyError
from tests.conftest import MovableClock
from tests.credentials.provider_standin import ProviderStandIn

GOOD = "sk-store-good-0123456789"
BAD = "sk-store-bad-0123456789"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def services(settings: Settings, clock: MovableClock) -> Services:
    built = Services(settings, clock=clock)
    built.ensure_storage()
    return built


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with ProviderStandIn({GOOD}) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with new_http_client(allow_private=True) as client:
        yield client


def new_credential(services: Services, standin: ProviderStandIn, key: str = GOOD) -> CredentialRecord:
    details = CredentialDetails(provider="openai", name="store test", base_url=standin.url("/v1"))
    return services.credentials.create(new_id("ten"), new_id("prj"), details, key, "user_test")


def message(record: CredentialRecord) -> CredentialValidationMessage:
    return CredentialValidationMessage(
        tenant_id=record.tenant_id,
        project_id=record.project_id,
        credential_id=record.row_key,
        secret_version=record.secret_version,
    )


def take_message(services: Services, credential_id: str) -> CredentialValidationMessage:
    """The credential's message from the real queue (deleted from it)."""
    for item in services.credentials.validations.client.receive_messages(max_messages=32, visibility_timeout=1):
        parsed = CredentialValidationMessage.model_validate_json(item.content)
        if parsed.credential_id == credential_id:
            services.credentials.validations.client.delete_message(item)
            return parsed
    raise AssertionError(f"no validation message for {credential_id}")


async def test_a_requested_validation_is_recorded_and_no_longer_pending(
    services: Services, standin: ProviderStandIn, http: httpx.AsyncClient, clock: MovableClock
) -> None:
    record = new_credential(services, standin)
    requested = services.credentials.request_validation(record)
    assert requested.validation_pending
    queued = take_message(services, record.row_key)
    assert queued == message(record)  # ids only
    assert GOOD not in queued.model_dump_json()

    validator = CredentialValidator(services.credentials, lambda: http)
    outcome = await validator.handle(queued)
    assert outcome is not None
    assert outcome.state is ValidationState.VALID
    stored = services.credentials.find(record.tenant_id, record.project_id, record.row_key)
    assert stored is not None
    assert (stored.validation_state, stored.validation_pending) == (ValidationState.VALID, False)

    # The same key version checked again later (the key was revoked at the provider meanwhile).
    standin.behaviour.good_keys.clear()
    clock.advance(timedelta(minutes=1))
    services.credentials.request_validation(stored)
    outcome = await validator.handle(take_message(services, record.row_key))
    assert outcome is not None
    assert outcome.state is ValidationState.INVALID
    again = services.credentials.find(record.tenant_id, record.project_id, record.row_key)
    assert again is not None
    assert again.validation_reason is not None
    assert again.validation_reason.startswith("HTTP 401 invalid_api_key")


async def test_a_validation_of_a_rotated_key_is_dropped(
    services: Services, standin: ProviderStandIn, http: httpx.AsyncClient
) -> None:
    record = new_credential(services, standin, key=BAD)
    stale = message(record)
    rotated = services.credentials.rotate(record, GOOD)
    assert rotated.secret_version != record.secret_version
    assert await CredentialValidator(services.credentials, lambda: http).handle(stale) is None
    stored = services.credentials.find(record.tenant_id, record.project_id, record.row_key)
    assert stored is not None
    assert stored.validation_state is ValidationState.UNVALIDATED
    assert standin.seen == []  # not even called
    # The result of a probe that started before the rotation is not written either.
    assert services.credentials.record_validation(record, ValidationState.INVALID, "old key") is None


async def test_a_late_result_does_not_resurrect_a_deleted_credential(
    services: Services, standin: ProviderStandIn, http: httpx.AsyncClient
) -> None:
    record = new_credential(services, standin)
    services.credentials.delete(record)
    assert services.credentials.record_validation(record, ValidationState.VALID, None) is None
    assert services.credentials.find(record.tenant_id, record.project_id, record.row_key) is None
    assert await CredentialValidator(services.credentials, lambda: http).handle(message(record)) is None
    with pytest.raises(SecretNotFound):
        services.secrets.get(SecretRef.credential(record.tenant_id, record.project_id, record.row_key))


async def test_the_poison_handler_says_the_validation_could_not_complete(
    services: Services, standin: ProviderStandIn, http: httpx.AsyncClient
) -> None:
    record = new_credential(services, standin)
    services.credentials.request_validation(record)
    take_message(services, record.row_key)
    await CredentialValidator(services.credentials, lambda: http).give_up(message(record))
    stored = services.credentials.find(record.tenant_id, record.project_id, record.row_key)
    assert stored is not None
    assert (stored.validation_state, stored.validation_pending) == (ValidationState.UNREACHABLE, False)


def test_a_rotation_keeps_the_old_version_readable_and_checks_the_key(
    services: Services, standin: ProviderStandIn
) -> None:
    record = new_credential(services, standin)
    rotated = services.credentials.rotate(record, "sk-store-next-0123456789")
    assert services.credentials.provider_credential(rotated).secret() == "sk-store-next-0123456789"
    assert services.credentials.provider_credential(record).secret() == GOOD
    assert rotated.fingerprint == "…6789"
    with pytest.raises(ValueError, match="printable ASCII"):
        services.credentials.rotate(rotated, "sk with spaces 0123")
    with pytest.raises(ConcurrencyError):
        services.credentials.rotate(record, "sk-store-stale-0123456789")  # read before the first rotation
