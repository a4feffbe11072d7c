"""The HTTP API: a FastAPI application mounted in the Function App with `AsgiFunctionApp`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from shared import __version__
from shared.api.middleware import RequestContextMiddleware
from shared.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from shared.api.routes import api_keys, audit, credentials, health, me, pricing, projects, runs, suites
from shared.config import Settings
from shared.services import Services

# The Functions host serves HTTP functions under host.json's routePrefix; the ASGI app sees full paths.
API_PREFIX = "/api"
V1_PREFIX = "/api/v1"
MAX_BODY_BYTES = 8 * 1024 * 1024


def create_api(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the API with its routes, error model and middleware."""
    services = services or Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The Functions host runs this on the first request; tables are created idempotently.
        await run_in_threadpool(services.ensure_storage)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="TokenRoute API",
        version=__version__,
        description="Benchmark intelligence for teams that call LLMs: suites, runs, statistics, trends, "
        "route decisions and benchmark packs. Errors are RFC 9457 problem details.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=PROBLEM_RESPONSES,
    )
    app.state.services = services
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=MAX_BODY_BYTES)
    app.include_router(health.router, prefix=API_PREFIX)
    for router in (me.router, projects.router, api_keys.router, audit.router, suites.router, runs.router):
        app.include_router(router, prefix=V1_PREFIX)
    for router in (credentials.router, pricing.router):
        app.include_router(router, prefix=V1_PREFIX)
    return app
