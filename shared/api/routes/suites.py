"""Suites and their immutable versions: `/api/v1/projects/{project}/suites[/{suite}[/versions/{version}]]`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import (
    CONFLICT_RESPONSE,
    ApiProblem,
    FieldError,
    not_found,
    problem_doc,
    problem_example,
)
from shared.storage import NotFound
from shared.suites.canonical import encode_content
from shared.suites.errors import SuiteError
from shared.suites.importers import import_csv, import_jsonl, import_promptfoo_yaml
from shared.suites.models import SuiteContent, parse_content
from shared.suites.records import SuiteRecord, VersionRecord
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/suites", tags=["suites"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
WriteAccess = Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]
SuiteId = Annotated[str, Path(pattern=r"^ste_[a-z2-7]{20}$", description="Suite id.")]
VersionId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="Version id: the content's SHA-256.")]

# Media types a version can be uploaded as, and how each is read.
_IMPORTERS: dict[str, Callable[[bytes], SuiteContent]] = {
    "application/x-ndjson": import_jsonl,
    "application/jsonl": import_jsonl,
    "text/csv": import_csv,
    "application/yaml": import_promptfoo_yaml,
    "application/x-yaml": import_promptfoo_yaml,
    "text/yaml": import_promptfoo_yaml,
}


# Request examples of `POST .../versions`, one per accepted content type (documentation only).
_JSON_EXAMPLE: dict[str, Any] = {
    "description": "Arithmetic",
    "cases": [
        {"id": "a", "messages": [{"role": "user", "content": "2+2?"}], "expected": "4"},
        {"id": "b", "messages": [{"role": "user", "content": "3*3?"}], "expected": "9"},
    ],
}
_JSONL_EXAMPLE = '{"id": "a", "prompt": "2+2?", "expected": "4"}\n{"id": "b", "prompt": "3*3?", "expected": "9"}\n'
_CSV_EXAMPLE = "id,prompt,expected\na,2+2?,4\nb,3*3?,9\n"
_YAML_EXAMPLE = (
    "prompts:\n  - '{{question}}'\ntests:\n  - vars: {question: '2+2?'}\n    assert:\n"
    "      - {type: equals, value: '4'}\n"
)


class SuiteCreate(BaseModel):
    """A new suite (its cases come as versions)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Support triage"}]})
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class Suite(BaseModel):
    """A suite."""

    id: str
    name: str
    description: str | None
    created_at: datetime
    created_by: str
    latest_version: str | None
    version_count: int

    @classmethod
    def of(cls, record: SuiteRecord) -> Suite:
        """The public view of a stored suite."""
        return cls(
            id=record.row_key,
            name=record.name,
            description=record.description,
            created_at=record.created_at,
            created_by=record.created_by,
            latest_version=record.latest_version,
            version_count=record.version_count,
        )


class Version(BaseModel):
    """A suite version: immutable, named by the SHA-256 of its canonical JSON."""

    version: str
    suite_id: str
    case_count: int
    size_bytes: int
    created_at: datetime
    created_by: str
    created: bool | None = Field(default=None, description="On upload: false when this content already existed.")

    @classmethod
    def of(cls, record: VersionRecord, created: bool | None = None) -> Version:
        """The public view of a stored version."""
        return cls(
            version=record.row_key,
            suite_id=record.suite_id,
            case_count=record.case_count,
            size_bytes=record.size_bytes,
            created_at=record.created_at,
            created_by=record.created_by,
            created=created,
        )


class VersionWithContent(Version):
    """A version and its cases."""

    content: dict[str, Any]


def suite_problem(error: SuiteError, prefix: str) -> ApiProblem:
    """A 422 problem listing every problem of the suite with its path."""
    errors = [
        FieldError(path=f"{prefix}.{p.path}" if p.path else prefix, message=p.message, type="suite_invalid")
        for p in error.problems
    ]
    return ApiProblem(422, "suite-invalid", "Invalid suite", str(error).splitlines()[0][:300], errors=errors)


def _read_version_body(media_type: str, body: bytes) -> SuiteContent:
    importer = _IMPORTERS.get(media_type)
    if importer is not None:
        return importer(body)
    if media_type != "application/json":
        raise ApiProblem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "Send JSON, JSON Lines (application/x-ndjson), CSV (text/csv) or promptfoo YAML (application/yaml).",
        )
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiProblem(
            422,
            "validation",
            "Invalid request",
            "The body is not JSON.",
            errors=[FieldError(path="body", message=str(exc)[:200], type="json_invalid")],
        ) from None
    return parse_content(data)


@router.post("", status_code=201, response_model=Suite, summary="Create a suite (member)")
async def create_suite(body: SuiteCreate, access: WriteAccess, services: ServicesDep) -> Suite:
    """An empty suite; add its cases as a version."""
    try:
        record = await asyncio.to_thread(
            services.suites.create_suite,
            access.tenant_id,
            access.project_id,
            body.name,
            body.description,
            access.caller.id,
        )
    except SuiteError as error:
        raise suite_problem(error, "body") from None
    return Suite.of(record)


@router.get("", response_model=PageOut[Suite], summary="List suites (viewer)")
async def list_suites(
    access: ReadAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Suite]:
    """The project's suites."""
    page = await asyncio.to_thread(
        services.suites.list_suites, access.tenant_id, access.project_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[Suite.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{suite}", response_model=Suite, summary="Get a suite (viewer)")
async def get_suite(suite: SuiteId, access: ReadAccess, services: ServicesDep) -> Suite:
    """One suite."""
    try:
        record = await asyncio.to_thread(services.suites.get_suite, access.tenant_id, access.project_id, suite)
    except NotFound:
        raise not_found("suite") from None
    return Suite.of(record)


@router.post(
    "/{suite}/versions",
    status_code=201,
    response_model=Version,
    summary="Add a version (member)",
    description="The body is the suite content as JSON, or a file to import: JSON Lines "
    "(`application/x-ndjson`), CSV (`text/csv`) or promptfoo YAML (`application/yaml`). The same "
    "content always gives the same version (answered with 200 and `created: false`).",
    responses={
        200: {"model": Version, "description": "This content already existed: its version, with `created: false`"},
        415: problem_doc(
            "The content type is none of JSON, JSON Lines, CSV or YAML",
            {
                "unsupported-media-type": problem_example(
                    415,
                    "unsupported-media-type",
                    "Unsupported media type",
                    "Send JSON, JSON Lines (application/x-ndjson), CSV (text/csv) or promptfoo YAML "
                    "(application/yaml).",
                )
            },
        ),
        422: problem_doc(
            "The content is not a valid suite: `errors` lists every problem with its path",
            {
                "suite-invalid": problem_example(
                    422,
                    "suite-invalid",
                    "Invalid suite",
                    "cases[1].id: duplicate case id 'a' (first at cases[0])",
                    errors=[
                        {
                            "path": "body.cases[1].id",
                            "message": "duplicate case id 'a' (first at cases[0])",
                            "type": "suite_invalid",
                        }
                    ],
                )
            },
        ),
        **CONFLICT_RESPONSE,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/SuiteContent"},
                    "example": _JSON_EXAMPLE,
                },
                "application/x-ndjson": {"schema": {"type": "string"}, "example": _JSONL_EXAMPLE},
                "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
                "application/yaml": {"schema": {"type": "string"}, "example": _YAML_EXAMPLE},
            },
        }
    },
)
async def add_version(
    suite: SuiteId, access: WriteAccess, services: ServicesDep, request: Request, response: Response
) -> Version:
    """Validate the content (every problem with its path), store it once, return its version."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()
    try:
        content = _read_version_body(media_type, body)
    except SuiteError as error:
        raise suite_problem(error, "body") from None
    try:
        record, created = await asyncio.to_thread(
            services.suites.add_version, access.tenant_id, access.project_id, suite, content, access.caller.id
        )
    except NotFound:
        raise not_found("suite") from None
    if not created:
        response.status_code = 200
    return Version.of(record, created)


@router.get("/{suite}/versions", response_model=PageOut[Version], summary="List versions (viewer)")
async def list_versions(
    suite: SuiteId, access: ReadAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Version]:
    """The suite's versions (in id order; sort by `created_at` for history)."""
    try:
        page = await asyncio.to_thread(
            services.suites.list_versions, access.tenant_id, access.project_id, suite, limit=limit, cursor=cursor
        )
    except NotFound:
        raise not_found("suite") from None
    return PageOut(items=[Version.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{suite}/versions/{version}", response_model=VersionWithContent, summary="Get a version (viewer)")
async def get_version(
    suite: SuiteId, version: VersionId, access: ReadAccess, services: ServicesDep
) -> VersionWithContent:
    """The version and its content, checked against its hash."""
    try:
        record = await asyncio.to_thread(
            services.suites.get_version, access.tenant_id, access.project_id, suite, version
        )
        content = await asyncio.to_thread(
            services.suites.get_version_content, access.tenant_id, access.project_id, suite, version
        )
    except NotFound:
        raise not_found("suite version") from None
    return VersionWithContent(**Version.of(record).model_dump(), content=json.loads(encode_content(content)))
