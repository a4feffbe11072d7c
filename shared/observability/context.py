"""Who and what the current request or job is about, for logs and problem bodies.

Context variables follow asyncio tasks, so concurrent requests never see each other's values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
function_var: ContextVar[str | None] = ContextVar("function", default=None)
tenant_var: ContextVar[str | None] = ContextVar("tenant", default=None)
project_var: ContextVar[str | None] = ContextVar("project", default=None)


def current_request_id() -> str | None:
    """The request id of the request being handled, if any."""
    return request_id_var.get()


@contextmanager
def log_context(
    *, request_id: str | None = None, function: str | None = None, tenant: str | None = None, project: str | None = None
) -> Iterator[None]:
    """Set the given fields for the duration of the block; fields left as None keep their value."""
    tokens = []
    for var, value in (
        (request_id_var, request_id),
        (function_var, function),
        (tenant_var, tenant),
        (project_var, project),
    ):
        if value is not None:
            tokens.append((var, var.set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind_tenant(tenant: str | None, project: str | None = None) -> None:
    """Record the tenant (and project) once authorization has resolved them, for the rest of the request."""
    if tenant is not None:
        tenant_var.set(tenant)
    if project is not None:
        project_var.set(project)
