"""Provider credentials (BYOK): `/api/v1/projects/{project}/credentials[/{credential}[/validate|/rotate]]`.

Admins create, rotate, validate and delete; viewers list and read. The key is accepted on create and
rotate only, goes straight to the secret backend, and is never returned, logged or stored in Tables.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from shared.api.auth import ProjectAccess, actor_of, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import CONFLICT_RESPONSE, ApiProblem, FieldError, not_found
from shared.credentials.fields import (
    CredentialFieldsRefused,
    FieldProblem,
    check_resolved,
    credential_details,
    provider_problem,
)
from shared.credentials.keys import KEY_MAX_CHARS, KEY_MIN_CHARS, key_problem
from shared.credentials.records import CredentialRecord, ValidationState
from shared.credentials.store import CredentialDetails
from shared.lifecycle.activation import ActivationEvent
from shared.services import Services
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/credentials", tags=["credentials"])

AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]
ViewerAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
CredentialId = Annotated[str, Path(pattern=r"^crd_[a-z2-7]{20}$", description="Credential id.")]

_KEY_DESCRIPTION = (
    f"The provider's API key ({KEY_MIN_CHARS}-{KEY_MAX_CHARS} printable ASCII characters, no spaces). "
    "Write-only: it is never shown again."
)
Url = Annotated[str, Field(min_length=1, max_length=2048)]


def _checked_key(value: SecretStr) -> SecretStr:
    # A check of our own (not Field constraints) so that the messages are ours and the value stays a
    # SecretStr, masked in every repr, from the request body on.
    if (why := key_problem(value.get_secret_value())) is not None:
        raise ValueError(why)
    return value


ProviderKey = Annotated[SecretStr, AfterValidator(_checked_key), Field(description=_KEY_DESCRIPTION)]


class CredentialCreate(BaseModel):
    """A new provider credential."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"provider": "openai", "name": "OpenAI production", "key": "sk-..."},
                {
                    "provider": "azure_openai",
                    "name": "Azure East US",
                    "key": "...",
                    "azure_endpoint": "https://my-resource.openai.azure.com",
                    "azure_deployment": "gpt-4o-mini",
                    "azure_api_version": "2024-10-21",
                },
            ]
        },
    )
    provider: str = Field(max_length=40, description="A provider of the adapter registry, e.g. `openai`.")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    key: ProviderKey
    base_url: Url | None = Field(default=None, description="Required for providers without a default one.")
    organization: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="OpenAI only.")
    azure_endpoint: Url | None = Field(default=None, description="Azure OpenAI only (required there).")
    azure_deployment: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Azure OpenAI only: the deployment URL form; omit for the v1 form.",
    )
    azure_api_version: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}-\d{2}(-preview)?$", description="Azure OpenAI deployment form only."
    )

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if (why := provider_problem(value)) is not None:
            raise ValueError(why)
        return value


class CredentialRotate(BaseModel):
    """The new key of a credential."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"key": "sk-proj-..."}]})
    key: ProviderKey


class Credential(BaseModel):
    """A credential as shown: metadata only, never the key."""

    id: str
    provider: str
    name: str
    fingerprint: str = Field(description="The key's last four characters, e.g. `…abcd`.")
    base_url: str | None = Field(description="null: the provider's default.")
    organization: str | None
    azure_endpoint: str | None
    azure_deployment: str | None
    azure_api_version: str | None
    validation_state: ValidationState
    validation_reason: str | None = Field(description="The provider's reason for `invalid`, or why `unreachable`.")
    validated_at: datetime | None
    validation_requested_at: datetime | None
    validation_pending: bool = Field(description="A requested validation has not reported back yet.")
    created_at: datetime
    created_by: str
    rotated_at: datetime | None

    @classmethod
    def of(cls, record: CredentialRecord) -> Credential:
        """The public view of a stored credential."""
        return cls(
            id=record.row_key,
            provider=record.provider,
            name=record.name,
            fingerprint=record.fingerprint,
            base_url=record.base_url,
            organization=record.organization,
            azure_endpoint=record.azure_endpoint,
            azure_deployment=record.azure_deployment,
            azure_api_version=record.azure_api_version,
            validation_state=record.validation_state,
            validation_reason=record.validation_reason,
            validated_at=record.validated_at,
            validation_requested_at=record.validation_requested_at,
            validation_pending=record.validation_pending,
            created_at=record.created_at,
            created_by=record.created_by,
            rotated_at=record.rotated_at,
        )


def _refused(problems: list[FieldProblem]) -> ApiProblem:
    """The same 422 as a request-model failure, for rules that need the settings (or DNS) to check."""
    errors = [FieldError(path=f"body.{p.field}", message=p.message, type=p.code) for p in problems]
    detail = f"{len(errors)} field(s) failed validation: " + ", ".join(e.path for e in errors)
    return ApiProblem(422, "validation", "Invalid request", detail, errors=errors)


async def _find(services: Services, access: ProjectAccess, credential: str) -> CredentialRecord:
    record = await asyncio.to_thread(services.credentials.find, access.tenant_id, access.project_id, credential)
    if record is None:
        raise not_found("credential")
    return record


async def _audit(
    services: Services, access: ProjectAccess, request: Request, action: str, record: CredentialRecord
) -> None:
    # Provider and name only: no key material, not even the fingerprint.
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, access.caller),
        action,
        "credential",
        record.row_key,
        {"provider": record.provider, "name": record.name},
    )


@router.post("", status_code=201, response_model=Credential, summary="Create a credential (admin)")
async def create_credential(
    body: CredentialCreate, access: AdminAccess, services: ServicesDep, request: Request
) -> Credential:
    """Store a provider key for the project; the answer is its metadata (state `unvalidated`)."""
    allow_private = services.settings.allow_private_endpoints
    requested = CredentialDetails(
        provider=body.provider,
        name=body.name.strip(),
        base_url=body.base_url,
        organization=body.organization,
        azure_endpoint=body.azure_endpoint,
        azure_deployment=body.azure_deployment,
        azure_api_version=body.azure_api_version,
    )
    try:
        details = credential_details(requested, allow_private=allow_private)
        await check_resolved(details, allow_private=allow_private)
    except CredentialFieldsRefused as exc:
        raise _refused(exc.problems) from None
    record = await asyncio.to_thread(
        services.credentials.create,
        access.tenant_id,
        access.project_id,
        details,
        body.key.get_secret_value(),
        access.caller.id,
    )
    await _audit(services, access, request, "credential.created", record)
    await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.CREDENTIAL_ADDED)
    return Credential.of(record)


@router.get("", response_model=PageOut[Credential], summary="List credentials (viewer)")
async def list_credentials(
    access: ViewerAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Credential]:
    """The project's credentials, metadata only."""
    page = await asyncio.to_thread(
        services.credentials.list, access.tenant_id, access.project_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[Credential.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{credential}", response_model=Credential, summary="Get a credential (viewer)")
async def get_credential(credential: CredentialId, access: ViewerAccess, services: ServicesDep) -> Credential:
    """One credential's metadata and validation state."""
    return Credential.of(await _find(services, access, credential))


@router.post(
    "/{credential}/rotate",
    response_model=Credential,
    summary="Rotate a credential's key (admin)",
    responses=CONFLICT_RESPONSE,
)
async def rotate_credential(
    credential: CredentialId, body: CredentialRotate, access: AdminAccess, services: ServicesDep, request: Request
) -> Credential:
    """Store a new key version; the credential is `unvalidated` again."""
    record = await _find(services, access, credential)
    rotated = await asyncio.to_thread(services.credentials.rotate, record, body.key.get_secret_value())
    await _audit(services, access, request, "credential.rotated", rotated)
    return Credential.of(rotated)


@router.post(
    "/{credential}/validate",
    status_code=202,
    response_model=Credential,
    summary="Validate a credential (admin)",
    responses=CONFLICT_RESPONSE,
)
async def validate_credential(
    credential: CredentialId, access: AdminAccess, services: ServicesDep, request: Request
) -> Credential:
    """Queue a cheap real call to the provider; poll the credential until `validation_pending` is false."""
    record = await _find(services, access, credential)
    requested = await asyncio.to_thread(services.credentials.request_validation, record)
    await _audit(services, access, request, "credential.validation_requested", requested)
    return Credential.of(requested)


@router.delete("/{credential}", status_code=204, summary="Delete a credential (admin)", responses=CONFLICT_RESPONSE)
async def delete_credential(
    credential: CredentialId, access: AdminAccess, services: ServicesDep, request: Request
) -> Response:
    """The credential is unusable at once; its key is deleted from the secret backend."""
    record = await _find(services, access, credential)
    await asyncio.to_thread(services.credentials.delete, record)
    await _audit(services, access, request, "credential.deleted", record)
    return Response(status_code=204)
