"""Scheduled benchmarks: `/api/v1/projects/{project}/schedules[/{schedule}]`.

Thin: validate, authorize, check the run a schedule would start (suite version, targets and
credentials, estimate within the budget) as `POST .../runs` does, then call `shared.schedules`.
Creating, changing and deleting a schedule is audited.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from shared.api.auth import ProjectAccess, actor_of, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import CONFLICT_RESPONSE, not_found, problem_doc, problem_example
from shared.api.routes.runs import launch_problem
from shared.runs.launch import BudgetExceeded, Launcher
from shared.runs.models import RunCreate, TargetSpec
from shared.runs.planning import PlanError
from shared.schedules.models import (
    SCHEDULE_ID_PATTERN,
    FiringStatus,
    ScheduleCreate,
    ScheduleRecord,
    ScheduleUpdate,
)
from shared.services import Services
from shared.storage import NotFound
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/schedules", tags=["schedules"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
WriteAccess = Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]
ScheduleId = Annotated[str, Path(pattern=SCHEDULE_ID_PATTERN, description="Schedule id (`sch_...`).")]


class Schedule(BaseModel):
    """A schedule, when it is due next and what became of its last due time."""

    id: str
    name: str | None
    suite_id: str
    version: str
    targets: list[TargetSpec]
    trials: int
    concurrency: int
    budget_usd: Decimal = Field(description="Each run's budget.")
    cron: str = Field(description="NCRONTAB, in UTC.")
    paused: bool
    next_due_at: datetime | None = Field(description="When it fires next (UTC); null while paused.")
    last_run_id: str | None = Field(description="The last run it started.")
    last_fired_at: datetime | None = Field(description="The due time it last settled.")
    last_outcome: FiringStatus | None = Field(
        description="`started`, `skipped` (e.g. the previous run was still going), `refused` (estimate above "
        "the budget) or `failed` (e.g. a credential was deleted)."
    )
    last_outcome_reason: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, record: ScheduleRecord) -> Schedule:
        """The public view of a stored schedule."""
        return cls(
            id=record.row_key,
            name=record.name,
            suite_id=record.suite_id,
            version=record.version,
            targets=record.targets,
            trials=record.trials,
            concurrency=record.concurrency,
            budget_usd=Decimal(record.budget_usd),
            cron=record.cron,
            paused=record.paused,
            next_due_at=None if record.paused else record.next_due_at,
            last_run_id=record.last_run_id,
            last_fired_at=record.last_fired_at,
            last_outcome=record.last_outcome,
            last_outcome_reason=record.last_outcome_reason,
            created_at=record.created_at,
            created_by=record.created_by,
            updated_at=record.updated_at,
            updated_by=record.updated_by,
        )


_CREATE_EXAMPLES: dict[str, Any] = {
    "nightly": {
        "summary": "Every night at 02:30 UTC, two sandbox models",
        "value": {
            "name": "nightly regression",
            "suite_id": "ste_abcdefghijklmnopqrst",
            "version": "0" * 64,
            "targets": [
                {"provider": "sandbox", "model": "sandbox/fast-accurate"},
                {"provider": "sandbox", "model": "sandbox/cheap-sloppy"},
            ],
            "budget_usd": "1.00",
            "cron": "0 30 2 * * *",
        },
    },
    "weekdays": {
        "summary": "Weekdays at 06:00 UTC (five fields), a real provider",
        "value": {
            "suite_id": "ste_abcdefghijklmnopqrst",
            "version": "0" * 64,
            "targets": [{"provider": "openai", "model": "gpt-4o-mini", "credential_id": "crd_abcdefghijklmnopqrst"}],
            "trials": 3,
            "budget_usd": "5.00",
            "cron": "0 6 * * 1-5",
        },
    },
}
_UPDATE_EXAMPLES: dict[str, Any] = {
    "pause": {"summary": "Pause", "value": {"paused": True}},
    "resume": {"summary": "Resume (due from now on; missed times are not owed)", "value": {"paused": False}},
    "retime": {"summary": "New time and budget", "value": {"cron": "0 0 6 * * 1-5", "budget_usd": "8.00"}},
}
_NOT_FOUND = problem_doc(
    "No such project or schedule, or no such suite version in the project",
    {
        "not-found": problem_example(404, "not-found", "Not found", "No such schedule."),
        "no-version": problem_example(
            404,
            "not-found",
            "Not found",
            "No such suite version in this project.",
            errors=[{"path": "body.version", "message": "no such suite version", "type": "not_found"}],
        ),
    },
)
_INVALID = problem_doc(
    "Invalid request (`validation`: each failing field, e.g. `body.cron` for an expression that does not "
    "parse or fires more often than every 15 minutes), or the estimate of one run is above `budget_usd` "
    "(`budget-exceeded`, with the `estimate`)",
    {
        "validation": problem_example(
            422,
            "validation",
            "Invalid request",
            "1 field(s) failed validation: body.cron",
            errors=[
                {
                    "path": "body.cron",
                    "message": "Value error, NCRONTAB '*/5 * * * *' fires 5 minutes apart at times; a schedule "
                    "may fire at most every 15 minutes",
                    "type": "value_error",
                }
            ],
        ),
        "budget-exceeded": problem_example(
            422,
            "budget-exceeded",
            "Estimate exceeds the budget",
            "the estimated cost 7.2000 USD exceeds the budget 5.00 USD",
            errors=[{"path": "body.budget_usd", "message": "estimate above budget", "type": "budget_exceeded"}],
            estimate={"total_usd": "7.20", "price_version": "2025-06-01", "unpriced_targets": [], "targets": []},
        ),
    },
)


def _check_run(services: Services, access: ProjectAccess, run: RunCreate) -> None:
    """Refuse a schedule whose run could not start now, as `POST .../runs` would."""
    launcher = Launcher(services.suites, services.credentials, services.runs, services.clock)
    prices = services.prices(access.tenant_id, access.project_id)
    try:
        launcher.check(access.tenant_id, access.project_id, run, prices)
    except (NotFound, PlanError, BudgetExceeded) as error:
        raise launch_problem(error) from None


async def _schedule(access: ProjectAccess, services: Services, schedule: str) -> ScheduleRecord:
    record = await asyncio.to_thread(services.schedules.find, access.tenant_id, access.project_id, schedule)
    if record is None:
        raise not_found("schedule")
    return record


async def _audit(
    request: Request, access: ProjectAccess, services: Services, action: str, schedule: str, details: dict[str, Any]
) -> None:
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, access.caller),
        action,
        "schedule",
        schedule,
        details,
    )


@router.get(
    "",
    response_model=PageOut[Schedule],
    summary="List schedules (viewer)",
    description="The project's scheduled benchmarks, with when each fires next and its last outcome.",
)
async def list_schedules(
    access: ReadAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Schedule]:
    """A page of the project's schedules."""
    page = await asyncio.to_thread(
        services.schedules.list_schedules, access.tenant_id, access.project_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[Schedule.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=Schedule,
    summary="Create a schedule (member)",
    description="Runs a suite version against targets on an NCRONTAB schedule (UTC, 5 or 6 fields, at most every "
    "15 minutes), each run with `budget_usd`. The run is checked now as `POST .../runs` checks it: suite version, "
    "targets and credentials, and an estimate within the budget (422 `budget-exceeded` otherwise). A due time "
    "starts its run once, even when the timer fires twice or late; a due time whose previous run is still going "
    "is skipped.",
    responses={404: _NOT_FOUND, 422: _INVALID},
)
async def create_schedule(
    body: Annotated[ScheduleCreate, Body(openapi_examples=_CREATE_EXAMPLES)],
    access: WriteAccess,
    services: ServicesDep,
    request: Request,
) -> Schedule:
    """Check the run it would start, store it, audit it."""
    await asyncio.to_thread(_check_run, services, access, body.run_request())
    record = await asyncio.to_thread(
        services.schedules.create, access.tenant_id, access.project_id, body, access.caller.id
    )
    details = {"name": record.name, "suite_id": record.suite_id, "cron": record.cron, "budget_usd": record.budget_usd}
    await _audit(request, access, services, "schedule.created", record.row_key, details)
    return Schedule.of(record)


@router.get(
    "/{schedule}",
    response_model=Schedule,
    summary="Get a schedule (viewer)",
    description="The schedule, when it fires next (null while paused), the last run it started and the outcome "
    "of its last due time.",
    responses={404: _NOT_FOUND},
)
async def get_schedule(schedule: ScheduleId, access: ReadAccess, services: ServicesDep) -> Schedule:
    """One schedule of the project."""
    return Schedule.of(await _schedule(access, services, schedule))


@router.patch(
    "/{schedule}",
    response_model=Schedule,
    summary="Change, pause or resume a schedule (member)",
    description="Changes any of its fields; `paused: true` pauses it, `paused: false` resumes it from now on "
    "(due times missed while paused are not owed). Unless the change only renames or pauses, the run it would "
    "start is checked again as at creation (also on resuming). 409 when the schedule changed meanwhile.",
    responses={**CONFLICT_RESPONSE, 404: _NOT_FOUND, 422: _INVALID},
)
async def update_schedule(
    schedule: ScheduleId,
    body: Annotated[ScheduleUpdate, Body(openapi_examples=_UPDATE_EXAMPLES)],
    access: WriteAccess,
    services: ServicesDep,
    request: Request,
) -> Schedule:
    """Apply the change under the row's ETag, audit it."""
    record = await _schedule(access, services, schedule)
    updated, fields = services.schedules.changed(record, body, access.caller.id)
    if not fields:
        return Schedule.of(record)
    resumed = "paused" in fields and not updated.paused
    if resumed or set(fields) - {"name", "paused"}:
        await asyncio.to_thread(_check_run, services, access, updated.run_request())
    saved = await asyncio.to_thread(services.schedules.save, updated)
    await _audit(request, access, services, "schedule.updated", schedule, {"changed": sorted(fields)})
    return Schedule.of(saved)


@router.delete(
    "/{schedule}",
    status_code=204,
    summary="Delete a schedule (member)",
    description="The schedule and its record of due times go; runs it started stay.",
    responses={404: _NOT_FOUND},
)
async def delete_schedule(
    schedule: ScheduleId, access: WriteAccess, services: ServicesDep, request: Request
) -> Response:
    """Delete it and its firing rows, audit it."""
    record = await _schedule(access, services, schedule)
    await asyncio.to_thread(services.schedules.delete, record)
    await _audit(request, access, services, "schedule.deleted", schedule, {"name": record.name})
    return Response(status_code=204)
