"""`GET /api/health`: the version and a real round trip to each store."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.api.dependencies import ServicesDep
from shared.api.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response
from shared.build_info import build_info
from shared.storage import probe

router = APIRouter(tags=["health"])


class StoreHealth(BaseModel):
    """The outcome of one store's round trip."""

    ok: bool
    elapsed_ms: float
    detail: str | None = None


class Health(BaseModel):
    """The service's health: version, environment and each store."""

    status: str
    version: str
    commit: str | None
    environment: str
    stores: dict[str, StoreHealth]


@router.get(
    "/health",
    response_model=Health,
    summary="Service health",
    description="Checks Tables, Blobs and Queues with a real write, read and delete. "
    "Answers 503 (a problem naming the failed stores) when any of them fails.",
    responses={503: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "A store failed"}},
)
async def health(services: ServicesDep) -> Health | JSONResponse:
    """Probe the three stores concurrently and report each."""
    checks = {"tables": probe.check_tables, "blobs": probe.check_blobs, "queues": probe.check_queues}
    results = await asyncio.gather(*(asyncio.to_thread(check, services.storage) for check in checks.values()))
    stores = {
        name: StoreHealth(ok=result.ok, elapsed_ms=result.elapsed_ms, detail=result.detail)
        for name, result in zip(checks, results, strict=True)
    }
    info = build_info()
    body = Health(
        status="ok",
        version=info.version,
        commit=info.commit,
        environment=services.settings.environment.value,
        stores=stores,
    )
    failed = [name for name, store in stores.items() if not store.ok]
    if not failed:
        return body
    return problem_response(
        503,
        "unavailable",
        "Service unavailable",
        f"Store(s) failing: {', '.join(failed)}.",
        extensions={"failed": failed, **body.model_dump(exclude={"status"}), "status": "unavailable"},
    )
