"""Projects: `/api/v1/projects[/{project}]`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api.auth import CallerDep, ProjectAccess, actor_of, authorize, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import CONFLICT_RESPONSE
from shared.lifecycle.activation import ActivationEvent
from shared.lifecycle.messages import DeletionMessage
from shared.tenancy.records import ProjectRecord
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ProjectCreate(BaseModel):
    """A new project."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Support answers"}]})
    name: ProjectName


class ProjectUpdate(BaseModel):
    """Changes to a project: any of its name and data settings (each settings change is audited)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Support answers (v2)"},
                {"aggregate_opt_in": True},
                {"retention_days": 90},
                {"retention_days": 0},
            ]
        },
    )
    name: ProjectName | None = None
    aggregate_opt_in: bool | None = Field(
        default=None, description="Let cross-tenant aggregates count this project (off by default)."
    )
    retention_days: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Delete results and outputs of runs older than this many days; 0 keeps them forever.",
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> ProjectUpdate:
        if self.name is None and self.aggregate_opt_in is None and self.retention_days is None:
            raise ValueError("give at least one of name, aggregate_opt_in, retention_days")
        return self


class Project(BaseModel):
    """A project."""

    id: str
    name: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    aggregate_opt_in: bool
    retention_days: int | None

    @classmethod
    def of(cls, record: ProjectRecord) -> Project:
        """The public view of a stored project."""
        return cls(
            id=record.row_key,
            name=record.name,
            created_at=record.created_at,
            created_by=record.created_by,
            updated_at=record.updated_at,
            aggregate_opt_in=record.aggregate_opt_in,
            retention_days=record.retention_days,
        )


@router.post("", status_code=201, response_model=Project, summary="Create a project (admin)")
async def create_project(body: ProjectCreate, caller: CallerDep, services: ServicesDep, request: Request) -> Project:
    """Projects are created by people with the admin role; API keys belong to one project and cannot."""
    authorize(caller, Role.ADMIN, Scope.ADMIN, keys_allowed=False)
    record = await asyncio.to_thread(services.projects.create, caller.tenant_id, body.name.strip(), caller.id)
    await asyncio.to_thread(
        services.audit.record,
        caller.tenant_id,
        record.row_key,
        actor_of(request, caller),
        "project.created",
        "project",
        record.row_key,
        {"name": record.name},
    )
    await asyncio.to_thread(services.activation.note, caller.tenant_id, ActivationEvent.PROJECT_CREATED)
    return Project.of(record)


@router.get("", response_model=PageOut[Project], summary="List projects (viewer)")
async def list_projects(
    caller: CallerDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Project]:
    """The tenant's projects; an API key sees only its own project."""
    if caller.project_id is not None:
        record = await asyncio.to_thread(services.projects.find, caller.tenant_id, caller.project_id)
        return PageOut(items=[Project.of(record)] if record else [], next_cursor=None)
    authorize(caller, Role.VIEWER, Scope.RUNS_READ)
    page = await asyncio.to_thread(services.projects.list, caller.tenant_id, limit=limit, cursor=cursor)
    return PageOut(items=[Project.of(r) for r in page.items], next_cursor=page.next_cursor)


ViewerAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]
OwnerAccess = Annotated[ProjectAccess, Depends(project_access(Role.OWNER, Scope.ADMIN, keys_allowed=False))]


@router.get("/{project}", response_model=Project, summary="Get a project (viewer)")
async def get_project(access: ViewerAccess) -> Project:
    """One project of the caller's tenant."""
    return Project.of(access.project)


@router.patch(
    "/{project}",
    response_model=Project,
    summary="Rename a project or change its data settings (admin)",
    responses=CONFLICT_RESPONSE,
)
async def rename_project(body: ProjectUpdate, access: AdminAccess, services: ServicesDep, request: Request) -> Project:
    """Change the project's name, its aggregate opt-in or its retention period (each change audited)."""
    retention = access.project.retention_days
    if body.retention_days is not None:
        retention = body.retention_days or None  # 0 means "keep forever", stored as no period
    updated = await asyncio.to_thread(
        services.projects.update,
        access.project,
        name=body.name.strip() if body.name is not None else access.project.name,
        aggregate_opt_in=body.aggregate_opt_in
        if body.aggregate_opt_in is not None
        else access.project.aggregate_opt_in,
        retention_days=retention,
    )
    actor = actor_of(request, access.caller)
    changes = [
        ("project.renamed", access.project.name, updated.name, "from", "to"),
        ("settings.aggregate_opt_in_changed", access.project.aggregate_opt_in, updated.aggregate_opt_in, "from", "to"),
        ("settings.retention_changed", access.project.retention_days, updated.retention_days, "from_days", "to_days"),
    ]
    for action, before, after, before_key, after_key in changes:
        if before != after:
            await asyncio.to_thread(
                services.audit.record,
                access.tenant_id,
                access.project_id,
                actor,
                action,
                "project",
                access.project_id,
                {before_key: before, after_key: after},
            )
    return Project.of(updated)


@router.delete("/{project}", status_code=204, summary="Delete a project (owner)", responses=CONFLICT_RESPONSE)
async def delete_project(access: OwnerAccess, services: ServicesDep, request: Request) -> Response:
    """The project is unreachable at once; a queued job then deletes its rows, blobs and secrets."""
    tombstone = await asyncio.to_thread(services.projects.delete, access.project, access.caller.id)
    # The tombstone is written first: if this send fails, the tombstone still says work is pending.
    await asyncio.to_thread(
        services.deletion_queue.send,
        DeletionMessage(tenant_id=tombstone.partition_key, resource_id=tombstone.row_key),
    )
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, access.caller),
        "project.deleted",
        "project",
        access.project_id,
        {"name": access.project.name},
    )
    return Response(status_code=204)
