"""One error model for every HTTP response that is not a success: RFC 9457 problem details.

Domain code raises `ApiProblem` (or a subclass); the handlers here turn it, FastAPI's
validation errors and Starlette's HTTP errors into `application/problem+json` bodies that carry
the request id and, for validation errors, every failing field with its path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.observability.context import current_request_id
from shared.storage.errors import (
    ConcurrencyError,
    Conflict,
    InvalidCursor,
    NotFound,
    StorageError,
    StorageUnavailable,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:tokenroute:problem:"

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One failing input field."""

    path: str = Field(description="Where the field is, e.g. `body.targets[0].model` or `query.cursor`.")
    message: str
    type: str = Field(description="A stable code for the kind of failure, e.g. `missing`, `extra_forbidden`.")


class Problem(BaseModel):
    """An RFC 9457 problem details body."""

    type: str = Field(description="Stable identifier of the kind of problem.", examples=[TYPE_PREFIX + "not-found"])
    title: str
    status: int
    detail: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raise to answer with a problem: `ApiProblem(404, "not-found", "Not found", "No such run")`."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extensions = extensions or {}


def not_found(what: str = "resource") -> ApiProblem:
    """The answer for anything missing *or belonging to another tenant* (no existence leak)."""
    return ApiProblem(404, "not-found", "Not found", f"No such {what}.")


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build the problem+json response for the current request."""
    body = Problem(
        type=TYPE_PREFIX + slug,
        title=title,
        status=status,
        detail=detail,
        request_id=current_request_id(),
        errors=list(errors) if errors else None,
    ).model_dump(exclude_none=True)
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def field_path(loc: Sequence[str | int]) -> str:
    """`("body", "targets", 0, "model")` -> `body.targets[0].model`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
}


async def _handle_api_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _handle_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(path=field_path(item.get("loc", ())), message=str(item.get("msg", "")), type=str(item.get("type")))
        for item in exc.errors()
    ]
    detail = f"{len(errors)} field(s) failed validation: " + ", ".join(e.path for e in errors[:5])
    return problem_response(422, "validation", "Invalid request", detail, errors=errors)


async def _handle_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(exc.status_code, slug, title, detail, headers=dict(exc.headers or {}) or None)


async def _handle_storage(_: Request, exc: Exception) -> JSONResponse:
    # Storage errors that reach the API unhandled: answer what they mean, never the SDK's text.
    if isinstance(exc, InvalidCursor):
        error = FieldError(
            path="query.cursor", message="Not a cursor from a previous page of this list.", type="invalid_cursor"
        )
        return problem_response(400, "invalid-cursor", "Invalid cursor", error.message, errors=[error])
    if isinstance(exc, NotFound):
        return problem_response(404, "not-found", "Not found")
    if isinstance(exc, ConcurrencyError | Conflict):
        return problem_response(409, "conflict", "Conflict", "The resource changed meanwhile; read it and try again.")
    if isinstance(exc, StorageUnavailable):
        log.warning("storage unavailable: %s", type(exc).__name__)
        return problem_response(
            503,
            "unavailable",
            "Service unavailable",
            "Storage is unavailable; try again.",
            headers={"Retry-After": "5"},
        )
    log.error("storage error: %s", exc)
    return problem_response(
        500, "internal", "Internal error", "Something went wrong on our side; quote the request id."
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the framework knows about into the problem model."""
    app.add_exception_handler(ApiProblem, _handle_api_problem)
    app.add_exception_handler(StorageError, _handle_storage)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)


def problem_example(status: int, slug: str, title: str, detail: str, **extensions: Any) -> dict[str, Any]:
    """An example problem body for the OpenAPI document (the request id is illustrative)."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": "4f1c2b7e9a0d4c55b2f3e6a7d8c9b0a1",
    }
    body.update(extensions)
    return body


def problem_doc(description: str, examples: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One `responses=` entry: the `Problem` schema as `application/problem+json`, with named examples.

    `examples` maps a name to a problem body (see `problem_example`); documentation only.
    """
    media: dict[str, Any] = {}
    if examples:
        media["examples"] = {name: {"summary": body["title"], "value": body} for name, body in examples.items()}
    return {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: media}, "description": description}


def _problem_doc(description: str, slug: str, title: str, status: int, detail: str) -> dict[str, Any]:
    return problem_doc(description, {slug: problem_example(status, slug, title, detail)})


# Declared on the app so every operation in the OpenAPI document lists its problem answers.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_doc(
        "Bad request, e.g. a `cursor` that is not from a previous page",
        {
            "invalid-cursor": problem_example(
                400,
                "invalid-cursor",
                "Invalid cursor",
                "Not a cursor from a previous page of this list.",
                errors=[
                    {"path": "query.cursor", "message": "Not a cursor from a previous page.", "type": "invalid_cursor"}
                ],
            )
        },
    ),
    401: _problem_doc(
        "Authentication required: send `Authorization: Bearer <key or session token>` or `X-API-Key`",
        "unauthenticated",
        "Authentication required",
        401,
        "Missing or invalid credentials.",
    ),
    403: _problem_doc(
        "Forbidden: the caller lacks the role (people) or scope (API keys)",
        "forbidden",
        "Forbidden",
        403,
        "This needs the admin role or the `admin` scope.",
    ),
    404: _problem_doc(
        "Not found (also for resources of another tenant)", "not-found", "Not found", 404, "No such run."
    ),
    422: problem_doc(
        "Invalid request: `errors` lists each failing field with its path",
        {
            "validation": problem_example(
                422,
                "validation",
                "Invalid request",
                "1 field(s) failed validation: body.name",
                errors=[{"path": "body.name", "message": "Field required", "type": "missing"}],
            )
        },
    ),
    500: _problem_doc(
        "Internal error: quote the request id",
        "internal",
        "Internal error",
        500,
        "Something went wrong on our side; quote the request id.",
    ),
    503: _problem_doc(
        "Storage is unavailable for a moment: retry after `Retry-After` seconds",
        "unavailable",
        "Service unavailable",
        503,
        "Storage is unavailable; try again.",
    ),
}

# Per-operation additions (`responses=` on routes; documentation only).
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: _problem_doc(
        "Conflict: the resource changed meanwhile (read it and try again) or its state forbids this",
        "conflict",
        "Conflict",
        409,
        "The resource changed meanwhile; read it and try again.",
    )
}
TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: _problem_doc(
        "The body is larger than the API accepts (8 MiB)",
        "payload-too-large",
        "Payload too large",
        413,
        "The body exceeds 8388608 bytes.",
    )
}
