"""`GET /api/v1/projects/{project}/audit`: the project's audit trail, newest first."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.tenancy.records import AuditRecord
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/audit", tags=["audit"])

AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]


class AuditEntry(BaseModel):
    """Who did what, when, from where."""

    at: datetime
    actor_kind: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    source_ip: str | None
    user_agent: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        """The public view of a stored entry."""
        return cls(**record.model_dump(exclude={"partition_key", "row_key"}))


@router.get("", response_model=PageOut[AuditEntry], summary="The project's audit trail (admin)")
async def list_audit(
    access: AdminAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[AuditEntry]:
    """Entries newest first, paged."""
    page = await asyncio.to_thread(services.audit.list, access.tenant_id, access.project_id, limit=limit, cursor=cursor)
    return PageOut(items=[AuditEntry.of(r) for r in page.items], next_cursor=page.next_cursor)
