"""The caller's own tenant: `DELETE /api/v1/tenant` and `/api/v1/tenant/exports[/{export}[/download]]`.

Only an owner, signed in, may delete the tenant or take all of its data (an API key belongs to one
project and can do neither). The tenant is always the caller's current one (see `GET /api/v1/me`),
so there is no tenant id to guess in the path; deleting asks for that id again as `confirm`, since it
cannot be undone.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from shared.api.auth import CallerDep, actor_of, authorize
from shared.api.dependencies import ServicesDep
from shared.api.problems import ApiProblem, FieldError, not_found, problem_doc, problem_example
from shared.api.routes.exports import AuditDownload, Export, deliver_pack, export_with_link
from shared.auth.callers import Caller
from shared.exports.models import EXPORT_ID_PATTERN, ExportRecord, ExportStatus
from shared.exports.tenant_content import create_tenant_export, find_tenant_export
from shared.lifecycle.messages import DeletionMessage
from shared.services import Services
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/tenant", tags=["tenant"])

ExportId = Annotated[str, Path(pattern=EXPORT_ID_PATTERN, description="Export id (`exp_...`).")]
Confirm = Annotated[
    str,
    Query(
        pattern=r"^ten_[a-z2-7]{20}$",
        description="Your tenant id (`tenant_id` of `GET /api/v1/me`), to confirm: the deletion cannot be undone.",
        examples=["ten_abcdefghijklmnopqrst"],
    ),
]


class TenantDeletion(BaseModel):
    """A tenant deletion under way; its receipt keeps the deletion id."""

    tenant_id: str
    deletion_id: str
    requested_at: datetime
    status: Literal["deleting"] = "deleting"


_CONFIRM = problem_doc(
    "`confirm` is not the caller's tenant id",
    {
        "confirmation": problem_example(
            422, "validation", "Invalid request", "confirm must be your tenant id (GET /api/v1/me)."
        )
    },
)
_OWNER = problem_doc(
    "Only an owner, signed in, may do this",
    {"forbidden": problem_example(403, "forbidden", "Forbidden", "This needs the owner role.")},
)
_EXPORT_NOT_FOUND = problem_doc(
    "No such data export in the caller's tenant",
    {"not-found": problem_example(404, "not-found", "Not found", "No such export.")},
)
_NOT_READY = problem_doc(
    "The pack is not built (yet, or it failed)",
    {"not-ready": problem_example(409, "not-ready", "Export not ready", "The export is queued; poll it.")},
)
_GONE = problem_doc(
    "The pack was deleted: packs live 30 days",
    {"expired": problem_example(410, "expired", "Export expired", "The pack was deleted on 2026-01-01.")},
)


def _owner(caller: Caller) -> None:
    authorize(caller, Role.OWNER, Scope.ADMIN, keys_allowed=False)


@router.delete(
    "",
    status_code=202,
    response_model=TenantDeletion,
    summary="Delete the tenant and everything in it (owner)",
    description="Irreversible. The tenant closes at once: its members' sessions answer 401, every API key of "
    "every project answers 401. A queued job then deletes every project (rows, blobs, secrets), the members, "
    "activation events, audit trail and tombstones, and finally the tenant itself. What stays is a receipt "
    "(`deletions` row: tenant id, times, counts; no names or user ids). Signing in again afterwards starts an "
    "empty tenant. Take a data export first (`POST /api/v1/tenant/exports`) to keep a copy.",
    responses={403: _OWNER, 422: _CONFIRM},
)
async def delete_tenant(confirm: Confirm, caller: CallerDep, services: ServicesDep, request: Request) -> TenantDeletion:
    """Close the tenant, record the deletion and queue its cascade."""
    _owner(caller)
    if confirm != caller.tenant_id:
        message = "confirm must be your tenant id (GET /api/v1/me)."
        raise ApiProblem(
            422,
            "validation",
            "Invalid request",
            message,
            errors=[FieldError(path="query.confirm", message=message, type="confirmation")],
        )
    # Who asked is in the tenant's audit trail until the cascade removes it; the receipt names the role.
    await asyncio.to_thread(
        services.audit.record,
        caller.tenant_id,
        None,
        actor_of(request, caller),
        "tenant.deleted",
        "tenant",
        caller.tenant_id,
    )
    kind = caller.tenant_kind.value if caller.tenant_kind is not None else "unknown"
    tombstone = await asyncio.to_thread(services.purger.tenant.begin, caller.tenant_id, kind)
    message_out = DeletionMessage(tenant_id=caller.tenant_id, resource_id=tombstone.row_key, kind="tenant")
    await asyncio.to_thread(services.deletion_queue.send, message_out)
    return TenantDeletion(
        tenant_id=caller.tenant_id, deletion_id=tombstone.row_key, requested_at=tombstone.requested_at
    )


@router.post(
    "/exports",
    status_code=202,
    response_model=Export,
    summary="Export every record of the tenant (owner)",
    description="Queues a pack with everything the service keeps of the tenant, to answer a data request: "
    "members, projects, API key metadata (never the key or its hash), credential metadata (never the key), "
    "suites and versions, runs, results with outputs, route decisions, exports, schedules and trends, the "
    "audit trail, activation events and deletion receipts. Same format as benchmark packs (manifest with the "
    "SHA-256 of every file). Poll `GET /api/v1/tenant/exports/{export}` until `ready`.",
    responses={403: _OWNER},
)
async def create_export(caller: CallerDep, services: ServicesDep, request: Request) -> Export:
    """Store the export and queue its build."""
    _owner(caller)
    record = await asyncio.to_thread(create_tenant_export, services.exports, caller.tenant_id, caller.id)
    await asyncio.to_thread(
        services.audit.record,
        caller.tenant_id,
        None,
        actor_of(request, caller),
        "tenant.export_requested",
        "export",
        record.row_key,
    )
    return Export.of(record)


async def _export(caller: Caller, services: Services, export: str) -> ExportRecord:
    # Looked up before the role check: another tenant's export id answers 404 to everyone.
    record = await asyncio.to_thread(find_tenant_export, services.exports, caller.tenant_id, export)
    if record is None:
        raise not_found("export")
    _owner(caller)
    return record


def _auditor(request: Request, caller: Caller, services: Services, record: ExportRecord) -> AuditDownload:
    async def audit(via: str) -> None:
        await asyncio.to_thread(
            services.audit.record,
            caller.tenant_id,
            None,
            actor_of(request, caller),
            "export.downloaded",
            "export",
            record.row_key,
            {"via": via, "kind": record.kind.value},
        )

    return audit


@router.get(
    "/exports/{export}",
    response_model=Export,
    summary="Get a data export and its download link (owner)",
    description="The export's status; when `ready`, a read-only link to the pack valid for at most 15 minutes. "
    "Issuing a link is a download and is audited.",
    responses={403: _OWNER, 404: _EXPORT_NOT_FOUND},
)
async def get_export(export: ExportId, caller: CallerDep, services: ServicesDep, request: Request) -> Export:
    """The export, with a fresh short-lived link when its pack is ready."""
    record = await _export(caller, services, export)
    if record.status is not ExportStatus.READY:
        return Export.of(record)
    return await export_with_link(request, services, record, _auditor(request, caller, services, record))


@router.get(
    "/exports/{export}/download",
    response_model=Export,
    summary="Download a data export's pack (owner)",
    description="Streams the zip through the API (never whole in memory). A client that accepts only "
    "`application/json` gets the export with a fresh link instead. Audited either way.",
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The pack (or, for `Accept: application/json` only, the export and its link).",
        },
        403: _OWNER,
        404: _EXPORT_NOT_FOUND,
        409: _NOT_READY,
        410: _GONE,
    },
)
async def download_export(
    export: ExportId, caller: CallerDep, services: ServicesDep, request: Request
) -> StreamingResponse | Export:
    """The pack, chunk by chunk from the blob."""
    record = await _export(caller, services, export)
    return await deliver_pack(request, services, record, _auditor(request, caller, services, record))
