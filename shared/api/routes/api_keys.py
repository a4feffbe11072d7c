"""Project API keys: `/api/v1/projects/{project}/api-keys[/{key}]`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import ProjectAccess, actor_of, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import CONFLICT_RESPONSE, not_found
from shared.ids import ApiKeyId
from shared.lifecycle.activation import ActivationEvent
from shared.tenancy.records import ApiKeyRecord
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/api-keys", tags=["api-keys"])

AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]


class ApiKeyCreate(BaseModel):
    """A new API key for the project."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "CI pipeline", "scopes": ["runs:write", "runs:read"]}]},
    )
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))


class ApiKey(BaseModel):
    """An API key as listed: never the key itself."""

    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        """The public view of a stored key."""
        return cls(
            id=record.row_key,
            name=record.name,
            prefix=record.display_prefix,
            scopes=record.scopes,
            created_at=record.created_at,
            created_by=record.created_by,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )


class CreatedApiKey(ApiKey):
    """The answer to creation: the only time the full key is shown."""

    key: str = Field(description="The full key. Store it now: it cannot be shown again.")


@router.post("", status_code=201, response_model=CreatedApiKey, summary="Create an API key (admin)")
async def create_key(body: ApiKeyCreate, access: AdminAccess, services: ServicesDep, request: Request) -> CreatedApiKey:
    """Make a key with the given scopes; the response holds the key once."""
    record, issued = await asyncio.to_thread(
        services.api_keys.create, access.tenant_id, access.project_id, body.name.strip(), body.scopes, access.caller.id
    )
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, access.caller),
        "api_key.created",
        "api_key",
        record.row_key,
        {"name": record.name, "scopes": [s.value for s in record.scopes]},
    )
    await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.API_KEY_CREATED)
    return CreatedApiKey(**ApiKey.of(record).model_dump(), key=issued.value)


@router.get("", response_model=PageOut[ApiKey], summary="List API keys (admin)")
async def list_keys(
    access: AdminAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[ApiKey]:
    """The project's keys, revoked ones included."""
    page = await asyncio.to_thread(
        services.api_keys.list, access.tenant_id, access.project_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[ApiKey.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{key}", response_model=ApiKey, summary="Get an API key (admin)")
async def get_key(key: ApiKeyId, access: AdminAccess, services: ServicesDep) -> ApiKey:
    """One key's metadata."""
    record = await asyncio.to_thread(services.api_keys.find, access.tenant_id, access.project_id, key)
    if record is None:
        raise not_found("API key")
    return ApiKey.of(record)


@router.delete("/{key}", status_code=204, summary="Revoke an API key (admin)", responses=CONFLICT_RESPONSE)
async def revoke_key(key: ApiKeyId, access: AdminAccess, services: ServicesDep, request: Request) -> Response:
    """Revocation takes effect on the next request; the key stays listed as revoked."""
    record = await asyncio.to_thread(services.api_keys.find, access.tenant_id, access.project_id, key)
    if record is None:
        raise not_found("API key")
    if record.revoked_at is None:
        await asyncio.to_thread(services.api_keys.revoke, record)
        await asyncio.to_thread(
            services.audit.record,
            access.tenant_id,
            access.project_id,
            actor_of(request, access.caller),
            "api_key.revoked",
            "api_key",
            key,
            {"name": record.name},
        )
    return Response(status_code=204)
