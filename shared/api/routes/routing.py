"""Route decisions: `/api/v1/projects/{project}/route-decisions[/{decision}]` and `.../routes/{task}`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import ApiProblem, FieldError, not_found, problem_doc, problem_example
from shared.ids import new_id
from shared.lifecycle.activation import ActivationEvent
from shared.routing.decide import decide
from shared.routing.evidence import EvidenceError, build_pools, load_runs, provenance, select_runs
from shared.routing.models import (
    DECISION_ID_PATTERN,
    TASK_PATTERN,
    CurrentRouteRecord,
    Decision,
    DecisionRequest,
    DecisionStatus,
    RouteDecisionRecord,
    RouteTarget,
)
from shared.routing.store import StoredDecision, TamperedDecision
from shared.services import Services
from shared.tenancy.roles import Role, Scope

decisions_router = APIRouter(prefix="/projects/{project}/route-decisions", tags=["routes"])
routes_router = APIRouter(prefix="/projects/{project}/routes", tags=["routes"])

StaleReason = Literal["expired", "drift"]


def _staleness(expires_at: datetime, drift_event_id: str | None, now: datetime) -> tuple[bool, StaleReason | None]:
    """Stale by drift (a drift event hit the evidence) or, failing that, by expiry."""
    if drift_event_id is not None:
        return True, "drift"
    if now > expires_at:
        return True, "expired"
    return False, None


ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.ROUTES_READ))]
WriteAccess = Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]
DecisionId = Annotated[str, Path(pattern=DECISION_ID_PATTERN, description="Decision id (`rdc_...`).")]
TaskKey = Annotated[str, Path(pattern=TASK_PATTERN, description="Task key, e.g. `support-triage`.")]


class DecisionOut(BaseModel):
    """A stored decision: its content exactly as stored (verified against its hash) and its metadata."""

    id: str
    content_sha256: str = Field(description="SHA-256 of the decision's canonical JSON, checked on every read.")
    supersedes: str | None
    superseded_by: str | None = Field(description="The newer decision for the task, once there is one.")
    superseded_at: datetime | None
    stale: bool = Field(description="True once the decision has expired or a drift event hit its evidence.")
    stale_reason: StaleReason | None = Field(
        description="`drift` when a drift event hit the evidence while the decision was current, else `expired` "
        "when past `expires_at`."
    )
    drift_event_id: str | None = Field(description="The drift event that made it stale (see `.../drift-events`).")
    decision: Decision

    @classmethod
    def of(cls, stored: StoredDecision, now: datetime) -> DecisionOut:
        """The public view of a stored decision at time `now`."""
        r = stored.record
        stale, reason = _staleness(r.expires_at, r.drift_event_id, now)
        return cls(
            id=r.row_key,
            content_sha256=r.content_sha256,
            supersedes=r.supersedes,
            superseded_by=r.superseded_by,
            superseded_at=r.superseded_at,
            stale=stale,
            stale_reason=reason,
            drift_event_id=r.drift_event_id,
            decision=stored.decision,
        )


class DecisionListItem(BaseModel):
    """One decision in a list (get it for the content)."""

    id: str
    task: str
    status: DecisionStatus
    chosen: str | None
    decided_at: datetime
    expires_at: datetime
    content_sha256: str
    supersedes: str | None
    superseded_by: str | None
    drift_event_id: str | None = Field(description="Set when a drift event hit the evidence while it was current.")

    @classmethod
    def of(cls, r: RouteDecisionRecord) -> DecisionListItem:
        """The public view of a decision row."""
        return cls(
            id=r.row_key,
            task=r.task,
            status=r.status,
            chosen=r.chosen,
            decided_at=r.decided_at,
            expires_at=r.expires_at,
            content_sha256=r.content_sha256,
            supersedes=r.supersedes,
            superseded_by=r.superseded_by,
            drift_event_id=r.drift_event_id,
        )


class RouteOut(BaseModel):
    """The current route of a task, for gateways."""

    task: str
    decision_id: str
    status: DecisionStatus
    chosen: RouteTarget | None = Field(description="Null when the latest decision found no candidate feasible.")
    fallbacks: list[RouteTarget]
    decided_at: datetime
    expires_at: datetime
    stale: bool = Field(description="True once the decision has expired or a drift event hit its evidence.")
    stale_reason: StaleReason | None = Field(
        description="`drift` when a drift event hit the decision's evidence (see `drift_event_id`), else "
        "`expired` when past `expires_at`; decide again either way."
    )
    drift_event_id: str | None = Field(description="The drift event that made the route stale.")
    content_sha256: str

    @classmethod
    def of(cls, r: CurrentRouteRecord, now: datetime) -> RouteOut:
        """The public view of a current route at time `now`."""
        stale, reason = _staleness(r.expires_at, r.drift_event_id, now)
        return cls(
            task=r.row_key,
            decision_id=r.decision_id,
            status=r.status,
            chosen=r.chosen,
            fallbacks=r.fallbacks,
            decided_at=r.decided_at,
            expires_at=r.expires_at,
            stale=stale,
            stale_reason=reason,
            drift_event_id=r.drift_event_id,
            content_sha256=r.content_sha256,
        )


_EXAMPLES: dict[str, Any] = {
    "cost": {
        "summary": "Cheapest model that meets quality, latency and error limits",
        "value": {
            "task": "support-triage",
            "evidence": {"runs": ["run_abcdefghijklmnopqrst"]},
            "objective": "minimize_cost",
            "constraints": {"min_quality": 0.8, "max_p95_latency_ms": 3000, "max_error_rate": 0.05},
        },
    },
    "quality": {
        "summary": "Best quality among two candidates under a cost limit",
        "value": {
            "task": "contract-review",
            "evidence": {"runs": ["run_abcdefghijklmnopqrst", "run_bcdefghijklmnopqrsa"]},
            "candidates": [
                {"provider": "openai", "model": "gpt-4o-mini"},
                {"provider": "anthropic", "model": "claude-3-5-haiku-latest"},
            ],
            "objective": "maximize_quality",
            "constraints": {"max_cost_per_1k_usd": "2.50"},
            "confidence": 0.95,
            "expires_in_days": 14,
        },
    },
}

_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_doc(
        "No such project, or an evidence run is not in it",
        {
            "not-found": problem_example(
                404,
                "not-found",
                "Not found",
                "no such run run_abcdefghijklmnopqrst",
                errors=[{"path": "body.evidence.runs[0]", "message": "no such run", "type": "not_found"}],
            )
        },
    ),
    422: problem_doc(
        "Invalid request: an evidence run has not finished, or a candidate is not in the evidence",
        {
            "validation": problem_example(
                422,
                "validation",
                "Invalid request",
                "run run_abcdefghijklmnopqrst is running; only completed or partial runs are evidence",
                errors=[{"path": "body.evidence.runs[0]", "message": "not finished", "type": "invalid"}],
            )
        },
    ),
}

_TAMPERED = problem_doc(
    "Internal error, or the stored decision no longer matches its content hash (`integrity`)",
    {
        "integrity": problem_example(
            500,
            "integrity",
            "Stored decision failed its integrity check",
            "decision rdc_abcdefghijklmnopqrst does not match its content hash",
        )
    },
)


def _decide(services: Services, access: ProjectAccess, body: DecisionRequest) -> StoredDecision:
    run_ids = select_runs(services.runs, access.tenant_id, access.project_id, body.evidence)
    runs, rows = load_runs(services.runs, services.results, access.tenant_id, access.project_id, run_ids)
    pools = build_pools(runs, rows, body.candidates)
    decision = decide(
        body,
        pools,
        provenance(runs, rows, pools),
        decision_id=new_id("rdc"),
        project_id=access.project_id,
        decided_at=services.clock.now(),
    )
    record = services.route_decisions.save(access.tenant_id, decision)
    return StoredDecision(record=record, decision=decision)


@decisions_router.post(
    "",
    status_code=201,
    response_model=DecisionOut,
    summary="Decide a task's route (member)",
    description="Pools each candidate's results over the evidence runs, checks the constraints on interval bounds "
    "at the stated confidence, and chooses by the objective among the candidates that meet them, with fallbacks, "
    "the Pareto frontier, gaps, a rationale and a confidence statement (`insufficient_evidence` with the cases "
    "needed when the evidence cannot decide). The decision is stored immutably under its SHA-256 and becomes the "
    "task's current route, superseding the previous decision.",
    responses=_CREATE_RESPONSES,
)
async def create_decision(
    body: Annotated[DecisionRequest, Body(openapi_examples=_EXAMPLES)], access: WriteAccess, services: ServicesDep
) -> DecisionOut:
    """Decide, store and answer with the decision."""
    try:
        stored = await asyncio.to_thread(_decide, services, access, body)
    except EvidenceError as error:
        status, slug, title = (
            (404, "not-found", "Not found")
            if error.kind == "not_found"
            else (
                422,
                "validation",
                "Invalid request",
            )
        )
        raise ApiProblem(
            status,
            slug,
            title,
            error.message,
            errors=[FieldError(path=error.path, message=error.message, type=error.kind)],
        ) from None
    await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.ROUTE_DECISION_MADE)
    return DecisionOut.of(stored, services.clock.now())


@decisions_router.get(
    "",
    response_model=PageOut[DecisionListItem],
    summary="List route decisions (viewer)",
    description="The project's decisions, superseded ones included, optionally of one task; ordered by id "
    "(ids are random, so this is not time order).",
)
async def list_decisions(
    access: ReadAccess,
    services: ServicesDep,
    task: Annotated[str | None, Query(pattern=TASK_PATTERN, description="Only this task's decisions.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[DecisionListItem]:
    """A page of decision rows."""
    page = await asyncio.to_thread(
        services.route_decisions.list, access.tenant_id, access.project_id, task=task, limit=limit, cursor=cursor
    )
    return PageOut(items=[DecisionListItem.of(r) for r in page.items], next_cursor=page.next_cursor)


@decisions_router.get(
    "/{decision}",
    response_model=DecisionOut,
    summary="Get a route decision (viewer)",
    description="The decision's content exactly as stored, after checking it against its SHA-256; a blob that "
    "no longer matches is refused (500, `integrity`), never served. `stale` with `stale_reason` `drift` (and "
    "`drift_event_id`) when a drift event hit its evidence while it was the current route, else `expired`.",
    responses={500: _TAMPERED},
)
async def get_decision(decision: DecisionId, access: ReadAccess, services: ServicesDep) -> DecisionOut:
    """One decision, verified."""
    try:
        stored = await asyncio.to_thread(services.route_decisions.read, access.tenant_id, access.project_id, decision)
    except TamperedDecision as error:
        raise ApiProblem(500, "integrity", "Stored decision failed its integrity check", str(error)) from None
    if stored is None:
        raise not_found("decision")
    return DecisionOut.of(stored, services.clock.now())


@routes_router.get(
    "/{task}",
    response_model=RouteOut,
    summary="Get a task's current route (viewer)",
    description="What a gateway calls: the chosen target and fallbacks of the task's latest decision, read with "
    "one point read. `stale` is true once a drift event hit the decision's evidence (`stale_reason`: `drift`, "
    "with `drift_event_id`) or the decision has expired (`expired`); a new decision for the task clears it. "
    "404 when no decision exists for the task.",
)
async def get_route(task: TaskKey, access: ReadAccess, services: ServicesDep) -> RouteOut:
    """The current route."""
    record = await asyncio.to_thread(services.route_decisions.current, access.tenant_id, access.project_id, task)
    if record is None:
        raise not_found("route for this task")
    return RouteOut.of(record, services.clock.now())
