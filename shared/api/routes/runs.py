"""Runs: `/api/v1/projects/{project}/runs[/{run}[/results|/summary|/compare|/cancel|/retry-errors]]`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from shared.api.auth import ProjectAccess, project_access
from shared.api.dependencies import ServicesDep
from shared.api.paging import Cursor, Limit, PageOut
from shared.api.problems import CONFLICT_RESPONSE, ApiProblem, FieldError, not_found, problem_doc, problem_example
from shared.lifecycle.activation import ActivationEvent
from shared.runs.launch import BudgetExceeded, Launcher
from shared.runs.models import ItemStatus, ResultRecord, RunCreate, RunRecord, RunStatus, ShardStatus, TargetSpec
from shared.runs.planning import Estimate, PlanError
from shared.runs.sharding import target_id
from shared.runs.store import Progress
from shared.runs.summary import compare_targets, summarize_run
from shared.services import Services
from shared.stats.compare import Comparison
from shared.stats.summary import TargetSummary
from shared.storage import NotFound
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}/runs", tags=["runs"])

ReadAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]
WriteAccess = Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]
RunId = Annotated[str, Path(pattern=r"^run_[a-z2-7]{20}$", description="Run id.")]
TargetId = Annotated[str, Query(pattern=r"^t[0-9]{2}$", description="A target id of the run: t00, t01, ...")]


class TargetEstimateOut(BaseModel):
    """One target's estimated cost (null: the model has no price, so its cost is unknown)."""

    target_id: str
    display: str
    calls: int
    cost_usd: Decimal | None


class EstimateOut(BaseModel):
    """The run's cost estimate: an upper bound from max tokens, for priced targets."""

    total_usd: Decimal
    price_version: str
    unpriced_targets: list[str]
    targets: list[TargetEstimateOut]

    @classmethod
    def of(cls, estimate: Estimate) -> EstimateOut:
        """The public view of an estimate."""
        return cls(
            total_usd=estimate.total_usd,
            price_version=estimate.price_version,
            unpriced_targets=estimate.unpriced,
            targets=[
                TargetEstimateOut(target_id=t.target_id, display=t.display, calls=t.calls, cost_usd=t.cost_usd)
                for t in estimate.targets
            ],
        )


class ProgressOut(BaseModel):
    """How far the run is."""

    items_done: int
    items_total: int
    errors: int
    passed: int
    cost_usd: Decimal
    shards_done: int
    shards_total: int


class TargetOut(TargetSpec):
    """A target of the run, with its id."""

    id: str
    simulated: bool = Field(description="True for sandbox models: simulated, not a real provider.")


class Run(BaseModel):
    """A run and its progress."""

    id: str
    suite_id: str
    version: str
    status: RunStatus
    status_reason: str | None
    targets: list[TargetOut]
    trials: int
    concurrency: int
    budget_usd: Decimal | None
    estimate_usd: Decimal | None
    unpriced_targets: list[str]
    price_version: str
    created_at: datetime
    created_by: str
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    schedule_id: str | None = Field(default=None, description="The schedule that started the run, if any.")
    progress: ProgressOut | None = None

    @classmethod
    def of(cls, record: RunRecord, progress: Progress | None = None) -> Run:
        """The public view of a stored run."""
        return cls(
            id=record.row_key,
            suite_id=record.suite_id,
            version=record.version,
            status=record.status,
            status_reason=record.status_reason,
            targets=[
                TargetOut(**t.model_dump(), id=target_id(i), simulated=t.provider == "sandbox")
                for i, t in enumerate(record.targets)
            ],
            trials=record.trials,
            concurrency=record.concurrency,
            budget_usd=Decimal(record.budget_usd) if record.budget_usd else None,
            estimate_usd=Decimal(record.estimate_usd) if record.estimate_usd else None,
            unpriced_targets=record.unpriced_targets,
            price_version=record.price_version,
            created_at=record.created_at,
            created_by=record.created_by,
            finished_at=record.finished_at,
            cancel_requested_at=record.cancel_requested_at,
            schedule_id=record.schedule_id,
            progress=ProgressOut(**progress.__dict__) if progress else None,
        )


class RunCreated(Run):
    """The answer to starting a run."""

    estimate: EstimateOut


class Result(BaseModel):
    """One answer: a target's output for a case and trial, scored and costed."""

    target_id: str
    case_id: str
    trial: int
    status: ItemStatus
    score: float | None
    passed: bool | None
    scores: list[dict[str, Any]]
    output: str | None = Field(description="The answer (null when it is large: see output_chars and the export).")
    output_chars: int
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    latency_ms: float | None
    ttft_ms: float | None
    request_id: str | None
    model_version: str | None
    retries: int
    cost_usd: Decimal | None
    priced: bool
    price_version: str | None
    judge_input_tokens: int
    judge_output_tokens: int
    judge_cost_usd: Decimal | None
    error_kind: str | None
    error_message: str | None
    attempts: int
    completed_at: datetime

    @classmethod
    def of(cls, row: ResultRecord) -> Result:
        """The public view of a stored result."""
        data = row.model_dump(exclude={"partition_key", "row_key", "output_blob"})
        return cls(**data)


class Summary(BaseModel):
    """Statistics per target."""

    run_id: str
    status: RunStatus
    targets: dict[str, TargetSummary]
    labels: dict[str, str]


_START_EXAMPLES: dict[str, Any] = {
    "sandbox": {
        "summary": "Two simulated models (no credential, no cost)",
        "value": {
            "suite_id": "ste_abcdefghijklmnopqrst",
            "version": "0" * 64,
            "targets": [
                {"provider": "sandbox", "model": "sandbox/fast-accurate"},
                {"provider": "sandbox", "model": "sandbox/cheap-sloppy"},
            ],
            "trials": 1,
            "concurrency": 8,
        },
    },
    "budgeted": {
        "summary": "A real provider, with a budget",
        "value": {
            "suite_id": "ste_abcdefghijklmnopqrst",
            "version": "0" * 64,
            "targets": [
                {"provider": "openai", "model": "gpt-4o-mini", "credential_id": "crd_abcdefghijklmnopqrst"},
            ],
            "trials": 3,
            "budget_usd": "5.00",
        },
    },
}
_EXAMPLE_ESTIMATE = {"total_usd": "7.20", "price_version": "2025-06-01", "unpriced_targets": [], "targets": []}

_START_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_doc(
        "No such project, or no such suite version in it",
        {
            "not-found": problem_example(
                404,
                "not-found",
                "Not found",
                "No such suite version in this project.",
                errors=[{"path": "body.version", "message": "no such suite version", "type": "not_found"}],
            )
        },
    ),
    422: problem_doc(
        "Invalid request (`validation`: each failing field), or the estimate is above `budget_usd` "
        "(`budget-exceeded`, with the `estimate`)",
        {
            "validation": problem_example(
                422,
                "validation",
                "Invalid request",
                "targets[0].credential_id: a credential is needed for provider openai",
                errors=[
                    {
                        "path": "body.targets[0].credential_id",
                        "message": "a credential is needed for provider openai",
                        "type": "invalid",
                    }
                ],
            ),
            "budget-exceeded": problem_example(
                422,
                "budget-exceeded",
                "Estimate exceeds the budget",
                "The estimate of 7.20 USD is above the budget of 5.00 USD.",
                errors=[{"path": "body.budget_usd", "message": "estimate above budget", "type": "budget_exceeded"}],
                estimate=_EXAMPLE_ESTIMATE,
            ),
        },
    ),
}


async def _run(access: ProjectAccess, services: Services, run: str) -> RunRecord:
    record = await asyncio.to_thread(services.runs.find, access.tenant_id, access.project_id, run)
    if record is None:
        raise not_found("run")
    return record


@router.post(
    "",
    status_code=202,
    response_model=RunCreated,
    summary="Start a run (member)",
    description="Checks the suite version, targets and credentials, estimates the cost and refuses the run "
    "(422, `budget-exceeded`) when the estimate is above `budget_usd`. Otherwise the run is queued: poll "
    "`GET .../runs/{run}` for progress.",
    responses=_START_RESPONSES,
)
async def start_run(
    body: Annotated[RunCreate, Body(openapi_examples=_START_EXAMPLES)], access: WriteAccess, services: ServicesDep
) -> RunCreated:
    """Queue the run and answer with its id and estimate."""
    launcher = Launcher(services.suites, services.credentials, services.runs, services.clock)
    try:
        record, estimate = await asyncio.to_thread(
            launcher.start,
            access.tenant_id,
            access.project_id,
            body,
            access.caller.id,
            services.prices(access.tenant_id, access.project_id),
        )
    except (NotFound, PlanError, BudgetExceeded) as error:
        raise launch_problem(error) from None
    await asyncio.to_thread(services.activation.note, access.tenant_id, ActivationEvent.RUN_STARTED)
    return RunCreated(**Run.of(record).model_dump(), estimate=EstimateOut.of(estimate))


def launch_problem(error: NotFound | PlanError | BudgetExceeded) -> ApiProblem:
    """The answer to a run (or a schedule's run) that cannot start: no such suite version (404),
    targets that cannot run (422 `validation`), or an estimate above the budget (422 `budget-exceeded`)."""
    if isinstance(error, NotFound):
        return ApiProblem(
            404,
            "not-found",
            "Not found",
            "No such suite version in this project.",
            errors=[FieldError(path="body.version", message="no such suite version", type="not_found")],
        )
    if isinstance(error, PlanError):
        return ApiProblem(
            422,
            "validation",
            "Invalid request",
            error.message,
            errors=[FieldError(path=error.path, message=error.message, type="invalid")],
        )
    return ApiProblem(
        422,
        "budget-exceeded",
        "Estimate exceeds the budget",
        str(error),
        errors=[FieldError(path="body.budget_usd", message=str(error), type="budget_exceeded")],
        extensions={"estimate": EstimateOut.of(error.estimate).model_dump(mode="json")},
    )


@router.get("", response_model=PageOut[Run], summary="List runs (viewer)")
async def list_runs(
    access: ReadAccess, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[Run]:
    """The project's runs, newest first, without progress (get one run for it)."""
    page = await asyncio.to_thread(
        services.runs.list_runs, access.tenant_id, access.project_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[Run.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{run}", response_model=Run, summary="Get a run with its progress (viewer)")
async def get_run(run: RunId, access: ReadAccess, services: ServicesDep) -> Run:
    """The run, with progress summed over its shards."""
    record = await _run(access, services, run)
    shards = await asyncio.to_thread(services.runs.shards_of, access.tenant_id, access.project_id, run)
    return Run.of(record, services.runs.progress(record, shards))


@router.get("/{run}/results", response_model=PageOut[Result], summary="List results (viewer)")
async def list_results(
    run: RunId,
    access: ReadAccess,
    services: ServicesDep,
    target: TargetId | None = None,
    case: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:-]{1,128}$")] = None,
    passed: bool | None = None,
    errors: Annotated[bool, Query(description="Only items that errored.")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> PageOut[Result]:
    """The run's results, filtered by target, case, pass or fail, and error."""
    await _run(access, services, run)
    page = await asyncio.to_thread(
        services.results.query,
        access.tenant_id,
        access.project_id,
        run,
        target_id=target,
        case_id=case,
        passed=passed,
        errors_only=errors,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[Result.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{run}/summary", response_model=Summary, summary="Statistics per target (viewer)")
async def get_summary(run: RunId, access: ReadAccess, services: ServicesDep) -> Summary:
    """n, mean with a bootstrap interval, pass rate with a Wilson interval, latency, TTFT, cost, errors."""
    record = await _run(access, services, run)
    rows = await asyncio.to_thread(lambda: list(services.results.all_of_run(access.tenant_id, access.project_id, run)))
    return Summary(
        run_id=run,
        status=record.status,
        targets=summarize_run(record, rows),
        labels={target_id(i): t.display for i, t in enumerate(record.targets)},
    )


@router.get(
    "/{run}/compare",
    response_model=Comparison,
    summary="Compare two targets (viewer)",
    responses={
        409: problem_doc(
            "The two targets have no case in common to compare (yet)",
            {
                "not-comparable": problem_example(
                    409, "not-comparable", "Nothing to compare", "t00 and t01 have no answered case in common."
                )
            },
        )
    },
)
async def compare(
    run: RunId,
    access: ReadAccess,
    services: ServicesDep,
    a: TargetId,
    b: TargetId,
    metric: Literal["pass", "score"] = "pass",
) -> Comparison:
    """Paired comparison on the cases both targets answered: McNemar for pass/fail, paired bootstrap for scores."""
    record = await _run(access, services, run)
    known = {target_id(i) for i in range(len(record.targets))}
    for name, value in (("a", a), ("b", b)):
        if value not in known:
            raise ApiProblem(
                422,
                "validation",
                "Invalid request",
                f"{value} is not a target of this run.",
                errors=[FieldError(path=f"query.{name}", message="not a target of this run", type="invalid")],
            )
    rows = await asyncio.to_thread(lambda: list(services.results.all_of_run(access.tenant_id, access.project_id, run)))
    try:
        return compare_targets(record, rows, a, b, metric=metric)
    except ValueError as error:
        raise ApiProblem(409, "not-comparable", "Nothing to compare", str(error)) from None


@router.post(
    "/{run}/cancel", status_code=202, response_model=Run, summary="Cancel a run (member)", responses=CONFLICT_RESPONSE
)
async def cancel(run: RunId, access: WriteAccess, services: ServicesDep) -> Run:
    """New provider calls stop within seconds; finished results are kept."""
    record = await _run(access, services, run)
    updated = await asyncio.to_thread(services.runs.request_cancel, record)
    return Run.of(updated)


@router.post(
    "/{run}/retry-errors",
    status_code=202,
    response_model=Run,
    summary="Re-run failed items (member)",
    responses={
        200: {"model": Run, "description": "Nothing failed: the run as it is, nothing queued"},
        409: problem_doc(
            "The run has not ended yet, or it changed meanwhile",
            {
                "conflict": problem_example(
                    409, "conflict", "Conflict", "The run is still going; retry errors once it has ended."
                )
            },
        ),
    },
)
async def retry_errors(run: RunId, access: WriteAccess, services: ServicesDep, response: Response) -> Run:
    """Only the items stored as errors run again; each keeps its old error until it is replaced."""
    record = await _run(access, services, run)
    if not record.status.terminal:
        raise ApiProblem(409, "conflict", "Conflict", "The run is still going; retry errors once it has ended.")
    shards = await asyncio.to_thread(services.runs.shards_of, access.tenant_id, access.project_id, run)
    again = [s for s in shards if s.errors > 0 or s.status is ShardStatus.FAILED]
    if not again:
        response.status_code = 200
        return Run.of(record)
    reopened = await asyncio.to_thread(services.runs.reopen, record, again)
    return Run.of(reopened)
