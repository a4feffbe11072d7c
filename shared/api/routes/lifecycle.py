"""Deleting a run or a suite: `DELETE /api/v1/projects/{project}/runs/{run}` and `.../suites/{suite}`.

The row goes at once (the resource answers 404 from then on) after a tombstone is written; the
`deletions` job then removes the rows, blobs and versions under the resource's key prefix and
leaves a receipt in the project's audit trail. Deleting a whole project lives in `projects`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from shared.api.auth import ProjectAccess, actor_of, project_access
from shared.api.dependencies import ServicesDep
from shared.api.problems import ApiProblem, not_found, problem_doc, problem_example
from shared.lifecycle.messages import DeletionKind, DeletionMessage
from shared.services import Services
from shared.suites.records import project_key
from shared.tenancy.roles import Role, Scope

router = APIRouter(prefix="/projects/{project}", tags=["lifecycle"])

AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]
RunId = Annotated[str, Path(pattern=r"^run_[a-z2-7]{20}$", description="Run id.")]
SuiteId = Annotated[str, Path(pattern=r"^ste_[a-z2-7]{20}$", description="Suite id.")]

RUN_ACTIVE_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: problem_doc(
        "The run is still queued or running: cancel it first",
        {
            "run-active": problem_example(
                409, "run-active", "Run still active", "Cancel the run and wait for it to end before deleting it."
            )
        },
    )
}


async def _cascade(
    services: Services,
    access: ProjectAccess,
    request: Request,
    kind: DeletionKind,
    resource_id: str,
    name: str,
    remove_row: tuple[str, str],
) -> None:
    """Tombstone, then the row, then the message: whatever fails after the tombstone leaves work recorded."""
    caller = access.caller
    await asyncio.to_thread(
        services.purger.tombstone, access.tenant_id, access.project_id, kind, resource_id, name, caller.id
    )
    table = services.runs.runs if kind == "run" else services.suites.suites
    await asyncio.to_thread(table.delete, *remove_row)
    message = DeletionMessage(
        tenant_id=access.tenant_id, project_id=access.project_id, kind=kind, resource_id=resource_id
    )
    await asyncio.to_thread(services.deletion_queue.send, message)
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, caller),
        f"{kind}.deleted",
        kind,
        resource_id,
        {"name": name},
    )


@router.delete("/runs/{run}", status_code=204, summary="Delete a run (admin)", responses=RUN_ACTIVE_RESPONSE)
async def delete_run(run: RunId, access: AdminAccess, services: ServicesDep, request: Request) -> Response:
    """The run answers 404 at once; its shards, results and outputs are removed by a queued job."""
    record = await asyncio.to_thread(services.runs.find, access.tenant_id, access.project_id, run)
    if record is None:
        raise not_found("run")
    if not record.status.terminal:
        # A live shard would write results after the cascade passed; ending the run first avoids that.
        raise ApiProblem(
            409, "run-active", "Run still active", "Cancel the run and wait for it to end before deleting it."
        )
    await _cascade(services, access, request, "run", run, run, (record.partition_key, record.row_key))
    return Response(status_code=204)


@router.delete("/suites/{suite}", status_code=204, summary="Delete a suite (admin)")
async def delete_suite(suite: SuiteId, access: AdminAccess, services: ServicesDep, request: Request) -> Response:
    """The suite answers 404 at once; its versions (rows and blobs) and schedules are removed by a queued job.

    Runs made from the suite keep their results; they can no longer be retried.
    """
    partition = project_key(access.tenant_id, access.project_id)
    record = await asyncio.to_thread(services.suites.suites.find, partition, suite)
    if record is None:
        raise not_found("suite")
    await _cascade(services, access, request, "suite", suite, record.name, (partition, suite))
    return Response(status_code=204)
