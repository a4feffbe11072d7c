"""`GET /api/v1/me`: who the caller is, its tenants and roles."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from shared.api.auth import CallerDep
from shared.api.dependencies import ServicesDep

router = APIRouter(tags=["identity"])


class TenantMembership(BaseModel):
    """A tenant the caller belongs to."""

    tenant_id: str
    kind: str
    role: str | None
    current: bool


class Me(BaseModel):
    """The caller."""

    kind: Literal["user", "api_key"]
    id: str
    tenant_id: str
    role: str | None
    scopes: list[str]
    project_id: str | None
    tenants: list[TenantMembership]


@router.get("/me", response_model=Me, summary="The caller, its tenants and roles")
async def me(caller: CallerDep, services: ServicesDep) -> Me:
    """A person sees every tenant it was seen in; an API key sees its own tenant and project."""
    if caller.kind == "user":
        records = await asyncio.to_thread(services.directory.tenants_of, caller.id)
        tenants = [
            TenantMembership(
                tenant_id=r.row_key, kind=r.kind.value, role=r.role.value, current=r.row_key == caller.tenant_id
            )
            for r in records
        ]
    else:
        tenant = await asyncio.to_thread(services.directory.find, caller.tenant_id)
        kind = tenant.kind.value if tenant else "unknown"
        tenants = [TenantMembership(tenant_id=caller.tenant_id, kind=kind, role=None, current=True)]
    return Me(
        kind=caller.kind,
        id=caller.id,
        tenant_id=caller.tenant_id,
        role=caller.role.value if caller.role else None,
        scopes=sorted(scope.value for scope in caller.scopes),
        project_id=caller.project_id,
        tenants=tenants,
    )
