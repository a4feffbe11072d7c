"""Benchmark packs: `/api/v1/projects/{project}/exports[/{export}[/download]]` and `/imports`.

Thin: validate, authorize, call `shared.exports`. Reading an export's link or streaming its pack is a
download, and every download is audited (`export.downloaded`).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from shared.api.auth import ProjectAccess, actor_of, project_access
from shared.api.dependencies import ServicesDep
from shared.api.problems import ApiProblem, FieldError, field_path, not_found, problem_doc, problem_example
from shared.api.routes.runs import EstimateOut, Run, RunCreated
from shared.exports.importer import ImportReplay, import_pack
from shared.exports.models import EXPORT_ID_PATTERN, ExportCreate, ExportKind, ExportRecord, ExportStatus
from shared.exports.verify import PackRefused
from shared.lifecycle.activation import ActivationEvent
from shared.runs.launch import BudgetExceeded
from shared.runs.planning import PlanError
from shared.services import Services
from shared.storage import NotFound, read_only_link
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}", tags=["exports"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.EXPORTS_READ))]
WriteAccess = Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]
ExportId = Annotated[str, Path(pattern=EXPORT_ID_PATTERN, description="Export id (`exp_...`).")]

# Links live at most 15 minutes; tests shorten this through `app.state.export_link_ttl`.
LINK_TTL = timedelta(minutes=15)
# The header carrying an import's replay (JSON), as the body is the pack itself.
REPLAY_HEADER = "TokenRoute-Replay"
# An import's body stays in memory up to this size, then spills to a temporary file.
SPOOL_IN_MEMORY_BYTES = 1024 * 1024


class Link(BaseModel):
    """A read-only link to the pack, valid until `expires_at`."""

    url: str
    expires_at: datetime


class Export(BaseModel):
    """An export and, once ready, where to fetch its pack."""

    id: str
    kind: ExportKind
    subject_id: str
    status: ExportStatus
    created_at: datetime
    created_by: str
    ready_at: datetime | None
    size_bytes: int | None
    sha256: str | None = Field(description="SHA-256 of the whole zip.")
    files: int | None
    failure: str | None
    expired_at: datetime | None = Field(
        default=None, description="When the pack was deleted (its lifetime or the project's retention ended)."
    )
    link: Link | None = Field(default=None, description="Present when ready: a read-only link (at most 15 minutes).")

    @classmethod
    def of(cls, record: ExportRecord, link: Link | None = None) -> Export:
        """The public view of a stored export."""
        return cls(
            id=record.row_key,
            kind=record.kind,
            subject_id=record.subject_id,
            status=record.status,
            created_at=record.created_at,
            created_by=record.created_by,
            ready_at=record.ready_at,
            size_bytes=record.size_bytes,
            sha256=record.sha256,
            files=record.files,
            failure=record.failure,
            expired_at=record.expired_at,
            link=link,
        )


class ImportedSuiteOut(BaseModel):
    """A suite created from the pack; its versions keep the pack's ids (content hashes)."""

    source_suite_id: str
    suite_id: str
    versions: list[str]


class Imported(BaseModel):
    """What the import created. Replay a run: `POST .../runs` with a suite and version from here."""

    export_id: str | None
    kind: str | None
    schema_version: str | None
    suites: list[ImportedSuiteOut]
    replay: RunCreated | None = Field(
        default=None, description="The run the replay started (with its estimate), when one was asked for."
    )


_CREATE_EXAMPLES: dict[str, Any] = {
    "run": {"summary": "A run with its results", "value": {"kind": "run", "id": "run_abcdefghijklmnopqrst"}},
    "decision": {
        "summary": "A route decision with its evidence runs",
        "value": {"kind": "decision", "id": "rdc_abcdefghijklmnopqrst"},
    },
    "suite": {"summary": "Every version of a suite", "value": {"kind": "suite", "id": "ste_abcdefghijklmnopqrst"}},
    "project": {"summary": "The whole project", "value": {"kind": "project"}},
}
_NOT_FOUND = problem_doc(
    "No such project, or nothing of that id in it",
    {"not-found": problem_example(404, "not-found", "Not found", "No such run in this project.")},
)
_NOT_READY = problem_doc(
    "The pack is not built (yet, or it failed)",
    {"not-ready": problem_example(409, "not-ready", "Export not ready", "The export is queued; poll it.")},
)
_GONE = problem_doc(
    "The pack was deleted: its lifetime or the project's retention period ended",
    {"expired": problem_example(410, "expired", "Export expired", "The pack was deleted on 2026-01-01.")},
)
_TOO_LARGE = problem_doc(
    "The pack is larger than an import may be (100 MiB)",
    {
        "payload-too-large": problem_example(
            413, "payload-too-large", "Payload too large", "The body exceeds 268435456 bytes."
        )
    },
)
_REFUSED = problem_doc(
    "The pack does not match its manifest (`pack-refused`, naming the file), or is not a pack; or the replay "
    "is invalid (`validation`) or its estimate is above its `budget_usd` (`budget-exceeded`). Nothing is stored.",
    {
        "pack-refused": problem_example(
            422,
            "pack-refused",
            "Pack refused",
            "runs/run_abcdefghijklmnopqrst/results.jsonl: SHA-256 or size differs from the manifest",
            file="runs/run_abcdefghijklmnopqrst/results.jsonl",
        ),
        "validation": problem_example(
            422,
            "validation",
            "Invalid request",
            "header.tokenroute-replay.targets[0].credential_id: required for a provider target",
            errors=[
                {
                    "path": "header.tokenroute-replay.targets[0].credential_id",
                    "message": "required for a provider target",
                    "type": "invalid",
                }
            ],
        ),
        "budget-exceeded": problem_example(
            422,
            "budget-exceeded",
            "Estimate exceeds the budget",
            "the estimated cost 7.2000 USD exceeds the budget 5.00 USD; nothing was imported",
            errors=[
                {
                    "path": "header.tokenroute-replay.budget_usd",
                    "message": "the estimated cost 7.2000 USD exceeds the budget 5.00 USD",
                    "type": "budget_exceeded",
                }
            ],
            estimate={"total_usd": "7.20", "price_version": "2026-11-27", "unpriced_targets": [], "targets": []},
        ),
    },
)


def _subject(body: ExportCreate, access: ProjectAccess) -> str:
    if body.kind is ExportKind.PROJECT:
        if body.id is not None:
            raise _invalid("a project export takes no id")
        return access.project_id
    prefix = {ExportKind.RUN: "run_", ExportKind.SUITE: "ste_", ExportKind.DECISION: "rdc_"}[body.kind]
    if body.id is None or not body.id.startswith(prefix):
        raise _invalid(f"a {body.kind.value} export needs the {body.kind.value} id ({prefix}...)")
    return body.id


def _invalid(message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "validation",
        "Invalid request",
        message,
        errors=[FieldError(path="body.id", message=message, type="invalid")],
    )


def _exists(services: Services, access: ProjectAccess, kind: ExportKind, subject: str) -> bool:
    tenant, project = access.tenant_id, access.project_id
    if kind is ExportKind.RUN:
        return services.runs.find(tenant, project, subject) is not None
    if kind is ExportKind.SUITE:
        try:
            services.suites.get_suite(tenant, project, subject)
        except NotFound:
            return False
        return True
    if kind is ExportKind.DECISION:
        return services.route_decisions.decisions.find(f"{tenant}~{project}", subject) is not None
    return True


@router.post(
    "/exports",
    status_code=202,
    response_model=Export,
    summary="Export a benchmark pack (member)",
    description="Queues the build of a zip pack of a run, a suite, a route decision (with its evidence runs) or "
    "the whole project: manifest with SHA-256 of every file, suite versions, results.jsonl, statistics, price "
    "table versions and report.html. Poll `GET .../exports/{export}` until `ready`.",
    responses={404: _NOT_FOUND},
)
async def create_export(
    body: Annotated[ExportCreate, Body(openapi_examples=_CREATE_EXAMPLES)],
    access: WriteAccess,
    services: ServicesDep,
) -> Export:
    """Check the subject exists in the project, store the export and enqueue its build."""
    subject = _subject(body, access)
    if not await asyncio.to_thread(_exists, services, access, body.kind, subject):
        raise not_found(body.kind.value)
    record = await asyncio.to_thread(
        services.exports.create, access.tenant_id, access.project_id, body.kind, subject, access.caller.id
    )
    await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.EXPORT_CREATED)
    return Export.of(record)


async def _export(access: ProjectAccess, services: Services, export: str) -> ExportRecord:
    record = await asyncio.to_thread(services.exports.find, access.tenant_id, access.project_id, export)
    if record is None:
        raise not_found("export")
    return record


def _auditor(request: Request, access: ProjectAccess, services: Services, record: ExportRecord) -> AuditDownload:
    async def audit(via: str) -> None:
        await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.EXPORT_DOWNLOADED)
        await asyncio.to_thread(
            services.audit.record,
            access.tenant_id,
            access.project_id,
            actor_of(request, access.caller),
            "export.downloaded",
            "export",
            record.row_key,
            {"via": via, "kind": record.kind.value, "subject_id": record.subject_id},
        )

    return audit


@router.get(
    "/exports/{export}",
    response_model=Export,
    summary="Get an export and its download link (viewer)",
    description="The export's status; when `ready`, a read-only link to the pack valid for at most 15 minutes "
    "(user-delegation SAS in Azure). Issuing a link is a download and is audited. A pack lives 30 days "
    "(less under the project's retention period); then the export is `expired` (with `expired_at`) and has "
    "no link.",
    responses={404: _NOT_FOUND},
)
async def get_export(export: ExportId, access: ReadAccess, services: ServicesDep, request: Request) -> Export:
    """The export, with a fresh short-lived link when its pack is ready."""
    record = await _export(access, services, export)
    if record.status is not ExportStatus.READY:
        return Export.of(record)
    return await export_with_link(request, services, record, _auditor(request, access, services, record))


AuditDownload = Callable[[str], Awaitable[None]]
"""Records one download of a pack; called with how it was handed out (`link` or `stream`)."""


async def export_with_link(request: Request, services: Services, record: ExportRecord, audit: AuditDownload) -> Export:
    """The export with a fresh read-only link; issuing it is a download, so it is audited."""
    ttl: timedelta = getattr(request.app.state, "export_link_ttl", LINK_TTL)
    expires = services.clock.now() + ttl
    url = await asyncio.to_thread(read_only_link, services.storage, services.exports.packs.name, record.blob, ttl)
    await audit("link")
    return Export.of(record, Link(url=url, expires_at=expires))


async def deliver_pack(
    request: Request, services: Services, record: ExportRecord, audit: AuditDownload
) -> StreamingResponse | Export:
    """The pack streamed chunk by chunk from its blob (never whole in memory), or, for a client that
    accepts only JSON, the export with a link. 410 once expired, 409 before it is ready."""
    if record.status is ExportStatus.EXPIRED:
        when = record.expired_at.date().isoformat() if record.expired_at else "its expiry"
        raise ApiProblem(410, "expired", "Export expired", f"The pack was deleted on {when}; export again.")
    if record.status is not ExportStatus.READY:
        raise ApiProblem(409, "not-ready", "Export not ready", f"The export is {record.status.value}.")
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "application/zip" not in accept and "*/*" not in accept:
        return await export_with_link(request, services, record, audit)
    chunks = await asyncio.to_thread(services.exports.packs.open_stream, record.blob)
    await audit("stream")
    headers = {"Content-Disposition": f'attachment; filename="{record.row_key}.zip"'}
    if record.size_bytes is not None:
        headers["Content-Length"] = str(record.size_bytes)
    return StreamingResponse(_iterate(chunks), media_type="application/zip", headers=headers)


async def _iterate(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Each chunk is read on a worker thread: the SDK's downloader blocks.
    sentinel: Any = object()
    while (chunk := await asyncio.to_thread(next, chunks, sentinel)) is not sentinel:
        yield chunk


@router.get(
    "/exports/{export}/download",
    summary="Download an export's pack (viewer)",
    description="Streams the zip through the API (a fallback for clients that cannot follow the link). A client "
    "that accepts only `application/json` gets the export with a fresh link instead, as from "
    "`GET .../exports/{export}`. Audited either way.",
    response_model=Export,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The pack (or, for `Accept: application/json` only, the export and its link).",
        },
        404: _NOT_FOUND,
        409: _NOT_READY,
        410: _GONE,
    },
)
async def download_export(
    export: ExportId, access: ReadAccess, services: ServicesDep, request: Request
) -> StreamingResponse | Export:
    """The pack, chunk by chunk from the blob (never whole in memory)."""
    record = await _export(access, services, export)
    return await deliver_pack(request, services, record, _auditor(request, access, services, record))


@router.post(
    "/imports",
    status_code=201,
    response_model=Imported,
    summary="Import a benchmark pack, optionally replaying it (member)",
    description="The body is the pack's zip, streamed to a temporary file (up to 100 MiB). Every file is "
    "verified against the manifest's SHA-256 and size (a changed, missing or extra file is refused with "
    "`pack-refused`, naming the file), then one suite is created per suite in the pack; versions keep their "
    f"ids. With a `{REPLAY_HEADER}` header (JSON: targets, trials, concurrency, `budget_usd`, and `version` "
    "when the pack holds several), a run of that version on those targets starts too, checked as "
    "`POST .../runs` checks it. Everything is checked before anything is stored: a refused replay "
    "(`validation`, `budget-exceeded`) creates no suite.",
    responses={413: _TOO_LARGE, 422: _REFUSED},
    openapi_extra={
        "parameters": [
            {
                "name": REPLAY_HEADER,
                "in": "header",
                "required": False,
                "description": "Replay the pack: the run's parameters as JSON (ASCII; escape other characters "
                "as \\uXXXX). Needs the member role or the runs:write scope, like starting a run.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ImportReplay"},
                        "example": {"targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]},
                    }
                },
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                # Documented as octet-stream, which every client and tool can send; any type is read as a zip.
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "UEsDBBQACAAIAAAAIQA...",
                }
            },
        },
    },
)
async def import_export(access: WriteAccess, services: ServicesDep, request: Request) -> Imported:
    """Check the replay header, spool the pack to a temporary file, verify and import it, start the replay."""
    replay = _replay_of(request.headers.get(REPLAY_HEADER))
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        # The middleware counts the bytes and answers 413 past the import limit.
        async for chunk in request.stream():
            await asyncio.to_thread(spool.write, chunk)
        await asyncio.to_thread(spool.seek, 0)
        try:
            outcome = await asyncio.to_thread(
                import_pack,
                services,
                access.tenant_id,
                access.project_id,
                spool,
                access.caller.id,
                replay=replay,
            )
        except PackRefused as refused:
            raise ApiProblem(
                422,
                "pack-refused",
                "Pack refused",
                str(refused),
                errors=[FieldError(path=f"body/{refused.path}", message=refused.reason, type="pack_refused")],
                extensions={"file": refused.path},
            ) from None
        except PlanError as error:
            path = _replay_path(error.path.removeprefix("body."))
            raise ApiProblem(
                422,
                "validation",
                "Invalid request",
                f"{path}: {error.message}",
                errors=[FieldError(path=path, message=error.message, type="invalid")],
            ) from None
        except BudgetExceeded as error:
            path = _replay_path("budget_usd")
            raise ApiProblem(
                422,
                "budget-exceeded",
                "Estimate exceeds the budget",
                f"{error}; nothing was imported",
                errors=[FieldError(path=path, message=str(error), type="budget_exceeded")],
                extensions={"estimate": EstimateOut.of(error.estimate).model_dump(mode="json")},
            ) from None
    if outcome.replay is not None:
        await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.RUN_STARTED)
    manifest = outcome.manifest
    started = outcome.replay
    return Imported(
        export_id=str(manifest.get("export_id")) if manifest.get("export_id") else None,
        kind=str(manifest.get("kind")) if manifest.get("kind") else None,
        schema_version=str(manifest.get("schema_version")),
        suites=[ImportedSuiteOut(**suite.__dict__) for suite in outcome.suites],
        replay=None
        if started is None
        else RunCreated(**Run.of(started.run).model_dump(), estimate=EstimateOut.of(started.estimate)),
    )


def _replay_path(relative: str) -> str:
    return f"header.{REPLAY_HEADER.lower()}.{relative}" if relative else f"header.{REPLAY_HEADER.lower()}"


def _replay_of(raw: str | None) -> ImportReplay | None:
    """The replay header's request, or a `validation` problem naming each bad field."""
    if raw is None:
        return None
    try:
        return ImportReplay.model_validate_json(raw)
    except ValidationError as invalid:
        errors = [
            FieldError(
                path=_replay_path(field_path(item["loc"]) if item["loc"] else ""),
                message=item["msg"],
                type=item["type"],
            )
            for item in invalid.errors()
        ]
        detail = f"{len(errors)} field(s) failed validation: " + ", ".join(e.path for e in errors[:5])
        raise ApiProblem(422, "validation", "Invalid request", detail, errors=errors) from None
