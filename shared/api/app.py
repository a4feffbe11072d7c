"""The HTTP API: a FastAPI application mounted in the Function App with `AsgiFunctionApp`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shared import __version__
from shared.api import docs
from shared.api.middleware import RequestContextMiddleware
from shared.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, TOO_LARGE_RESPONSE, install_problem_handlers
from shared.api.routes import (
    api_keys,
    audit,
    credentials,
    drift,
    events,
    exports,
    health,
    intelligence,
    lifecycle,
    me,
    pricing,
    projects,
    provider_status,
    routing,
    runs,
    schedules,
    suites,
    tenant,
    trends,
)
from shared.config import Settings
from shared.exports.importer import ImportReplay
from shared.services import Services
from shared.suites.models import SuiteContent

# The Functions host serves HTTP functions under host.json's routePrefix; the ASGI app sees full paths.
API_PREFIX = "/api"
V1_PREFIX = "/api/v1"
MAX_BODY_BYTES = 8 * 1024 * 1024
# A pack import streams to a temporary file, so it may be far larger: up to the Functions host's own
# default request limit (100 MiB; a 100,000-result pack is about 41 MB), which the local host mirrors.
MAX_IMPORT_BYTES = 100 * 1024 * 1024
IMPORT_PATH = rf"{V1_PREFIX}/projects/[^/]+/imports"

DESCRIPTION = """Benchmark intelligence for teams that call LLMs: suites, runs, statistics, trends, route
decisions and benchmark packs.

**Authentication.** Every route but `/api/health` needs a caller: a project API key as
`Authorization: Bearer trk_...` (or `X-API-Key: trk_...`), or a Clerk session token as a bearer token.
An API key belongs to one project; another project answers 404, as a missing one does.

**Errors** are RFC 9457 problem details (`application/problem+json`) with a stable `type`
(`urn:tokenroute:problem:<slug>`), the `request_id` to quote, and for invalid input `errors`: each
failing field with its path, e.g. `body.targets[0].model`.

**Lists** are paged: pass `next_cursor` back as `cursor` until it is null.
"""

# Shown as the "Authorize" choices of the docs page; the API accepts either on every route.
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A project API key (`trk_...`) or a Clerk session token.",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A project API key."},
}


# Models of request bodies and headers that routes parse themselves (`POST .../suites/{suite}/versions`,
# the replay header of `POST .../imports`).
EXTRA_SCHEMAS: tuple[type[BaseModel], ...] = (SuiteContent, ImportReplay)


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus what it cannot infer from the routes: auth and the body size limit."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    for model in EXTRA_SCHEMAS:
        # Bodies read by hand (`openapi_extra`) refer to these models, which FastAPI never sees.
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if path == f"{API_PREFIX}/health":
                # The only anonymous route: an empty requirement says "no authentication".
                operation["security"] = [{}]
            else:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
            if "requestBody" in operation:
                # The middleware refuses any body above MAX_BODY_BYTES before a route sees it.
                operation["responses"].setdefault("413", _resolved(TOO_LARGE_RESPONSE[413]))
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    _problem_only(response)
    app.openapi_schema = document
    return document


def _problem_only(response: dict[str, Any]) -> None:
    """Errors are only ever problem+json: FastAPI also lists a `model=` under application/json."""
    content = response.get("content", {})
    generic = content.pop("application/json", None)
    problem = content.setdefault(PROBLEM_MEDIA_TYPE, {})
    if generic is not None and "schema" not in problem:
        problem["schema"] = generic["schema"]


def _resolved(response: dict[str, Any]) -> dict[str, Any]:
    """A `responses=` entry as it appears in the document (the model becomes a `$ref`)."""
    content = {
        media: {"schema": {"$ref": "#/components/schemas/Problem"}, **spec}
        for media, spec in response["content"].items()
    }
    return {"description": response["description"], "content": content}


def create_api(
    settings: Settings, services: Services | None = None, *, max_import_bytes: int = MAX_IMPORT_BYTES
) -> FastAPI:
    """Build the API with its routes, error model and middleware (`max_import_bytes`: tests lower it)."""
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
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=PROBLEM_RESPONSES,
    )
    app.state.services = services
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=MAX_BODY_BYTES, streamed={IMPORT_PATH: max_import_bytes}
    )
    app.include_router(health.router, prefix=API_PREFIX)
    for router in (me.router, projects.router, api_keys.router, audit.router, suites.router, runs.router):
        app.include_router(router, prefix=V1_PREFIX)
    for router in (credentials.router, pricing.router, events.router, lifecycle.router, tenant.router):
        app.include_router(router, prefix=V1_PREFIX)
    for router in (routing.decisions_router, routing.routes_router, exports.router):
        app.include_router(router, prefix=V1_PREFIX)
    app.include_router(schedules.router, prefix=V1_PREFIX)
    app.include_router(drift.router, prefix=V1_PREFIX)
    app.include_router(intelligence.router, prefix=V1_PREFIX)
    app.include_router(provider_status.router, prefix=V1_PREFIX)
    app.include_router(trends.router, prefix=V1_PREFIX)
    # The docs page and its vendored assets: not API operations, so outside the OpenAPI document.
    app.include_router(docs.router, prefix=API_PREFIX)
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]
    return app
