"""Authentication and authorization as typed FastAPI dependencies.

Routes declare what they need in their signature: `caller: CallerDep` for any authenticated
caller, or `access: Annotated[ProjectAccess, Depends(project_access(Role.MEMBER, Scope.RUNS_WRITE))]`
for a project of the caller's tenant with a role (people) or scope (API keys). A project of another
tenant, or another project than an API key's own, answers 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shared.api.dependencies import ServicesDep
from shared.api.problems import ApiProblem, not_found
from shared.auth.callers import Caller, Forbidden, Presented, Unauthenticated, require
from shared.ids import ProjectId
from shared.observability.context import bind_tenant
from shared.tenancy.audit import Actor
from shared.tenancy.records import ProjectRecord
from shared.tenancy.roles import Role, Scope

SESSION_COOKIE = "__session"


def unauthenticated(detail: str) -> ApiProblem:
    """401 with a challenge; the detail never says which check failed."""
    return ApiProblem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="tokenroute"'},
    )


def forbidden(detail: str) -> ApiProblem:
    """403: a valid caller without the right."""
    return ApiProblem(403, "forbidden", "Forbidden", detail)


async def get_caller(request: Request, services: ServicesDep) -> Caller:
    """The authenticated caller of this request (401/403 problems otherwise)."""
    presented = Presented(
        method=request.method,
        authorization=request.headers.get("authorization"),
        api_key_header=request.headers.get("x-api-key"),
        session_cookie=request.cookies.get(SESSION_COOKIE),
        origin=request.headers.get("origin"),
    )
    try:
        caller = await services.authenticator.authenticate(presented)
    except Unauthenticated as exc:
        raise unauthenticated(str(exc)) from None
    except Forbidden as exc:
        raise forbidden(str(exc)) from None
    bind_tenant(caller.tenant_id, caller.project_id)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def actor_of(request: Request, caller: Caller) -> Actor:
    """The audit actor for this request: the caller and where the request came from."""
    forwarded = request.headers.get("x-forwarded-for", "")
    source = forwarded.split(",")[0].strip() or (request.client.host if request.client else None)
    return Actor(kind=caller.kind, id=caller.id, source_ip=source, user_agent=request.headers.get("user-agent"))


def authorize(caller: Caller, role: Role, scope: Scope, *, keys_allowed: bool = True) -> None:
    """Raise a 403 problem unless the caller has the role (people) or scope (keys)."""
    if caller.kind == "api_key" and not keys_allowed:
        raise forbidden("API keys cannot do this; sign in.")
    try:
        require(caller, role, scope)
    except Forbidden as exc:
        raise forbidden(str(exc)) from None


@dataclass(frozen=True)
class ProjectAccess:
    """A caller allowed into one project of its tenant."""

    caller: Caller
    project: ProjectRecord

    @property
    def tenant_id(self) -> str:
        """The tenant of the project (always the caller's)."""
        return self.project.partition_key

    @property
    def project_id(self) -> str:
        """The project id."""
        return self.project.row_key


def project_access(
    role: Role, scope: Scope, *, keys_allowed: bool = True
) -> Callable[[ProjectId, Caller, ServicesDep], Awaitable[ProjectAccess]]:
    """A dependency resolving the path's `{project}` within the caller's tenant, with a right."""

    async def dependency(project: ProjectId, caller: CallerDep, services: ServicesDep) -> ProjectAccess:
        # Another tenant's project and an API key's foreign project look exactly like a missing one.
        if caller.project_id is not None and caller.project_id != project:
            raise not_found("project")
        record = await asyncio.to_thread(services.projects.find, caller.tenant_id, project)
        if record is None:
            raise not_found("project")
        authorize(caller, role, scope, keys_allowed=keys_allowed)
        bind_tenant(caller.tenant_id, project)
        return ProjectAccess(caller=caller, project=record)

    return dependency
