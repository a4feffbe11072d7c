"""Who is calling: a person with a Clerk session (in a tenant, with a role) or a project API key.

The API layer extracts what the request presented (`Presented`); this module decides who that
is, creating the tenant and membership on first sight of a Clerk organization or user.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Literal

from shared.auth.clerk_tokens import InvalidSessionToken, SessionTokenVerifier
from shared.tenancy.api_key_store import ApiKeyStore
from shared.tenancy.api_keys import KEY_PREFIX
from shared.tenancy.records import TenantKind
from shared.tenancy.roles import Role, Scope, role_from_clerk
from shared.tenancy.tenants import TenantDeleted, TenantDirectory

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Clerk ids look like user_2NNEqL2nr...; anything else is refused before it reaches a table key.
_CLERK_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class Unauthenticated(Exception):
    """No credential, or one that is not valid. The message is safe to show."""


class Forbidden(Exception):
    """A valid caller that may not do this. The message is safe to show."""


@dataclass(frozen=True)
class Presented:
    """The credentials a request carried, as the API layer found them."""

    method: str
    authorization: str | None = None
    api_key_header: str | None = None
    session_cookie: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Caller:
    """An authenticated caller, always within exactly one tenant."""

    kind: Literal["user", "api_key"]
    id: str
    tenant_id: str
    role: Role | None = None
    scopes: frozenset[Scope] = frozenset()
    project_id: str | None = None  # API keys belong to one project
    tenant_kind: TenantKind | None = None


class Authenticator:
    """Turns presented credentials into a `Caller`."""

    def __init__(
        self,
        *,
        verifier: SessionTokenVerifier | None,
        directory: TenantDirectory,
        api_keys: ApiKeyStore,
        authorized_parties: list[str],
    ) -> None:
        self.verifier = verifier
        self.directory = directory
        self.api_keys = api_keys
        self.authorized_parties = frozenset(authorized_parties)

    async def authenticate(self, presented: Presented) -> Caller:
        """The caller, or `Unauthenticated` / `Forbidden`."""
        bearer = _bearer(presented.authorization)
        if presented.api_key_header is not None:
            return await self._from_key(presented.api_key_header)
        if bearer is not None and bearer.startswith(KEY_PREFIX):
            return await self._from_key(bearer)
        if bearer is not None:
            return await self._from_session(bearer)
        if presented.session_cookie:
            # The browser sends cookies on cross-site requests too: writes must come from our frontend.
            if presented.method.upper() in _UNSAFE_METHODS and presented.origin not in self.authorized_parties:
                raise Forbidden("A cookie-authenticated write must come from an authorized origin.")
            return await self._from_session(presented.session_cookie)
        raise Unauthenticated("Send a Clerk session token or a project API key.")

    async def _from_key(self, value: str) -> Caller:
        principal = await asyncio.to_thread(self.api_keys.authenticate, value)
        if principal is None:
            raise Unauthenticated("The API key is not valid.")
        return Caller(
            kind="api_key",
            id=principal.key_id,
            tenant_id=principal.tenant_id,
            scopes=principal.scopes,
            project_id=principal.project_id,
        )

    async def _from_session(self, token: str) -> Caller:
        if self.verifier is None:
            raise Unauthenticated("Session tokens are not accepted here; use a project API key.")
        try:
            claims = await self.verifier.verify(token)
        except InvalidSessionToken:
            raise Unauthenticated("The session token is not valid.") from None
        if not _CLERK_ID.match(claims.user_id) or (claims.org_id and not _CLERK_ID.match(claims.org_id)):
            raise Unauthenticated("The session token is not valid.")
        if claims.org_id:
            kind, clerk_id, role = TenantKind.ORGANIZATION, claims.org_id, role_from_clerk(claims.org_role)
        else:
            kind, clerk_id, role = TenantKind.PERSONAL, claims.user_id, Role.OWNER
        try:
            tenant_id = await asyncio.to_thread(self.directory.sight, kind, clerk_id, claims.user_id, role)
        except TenantDeleted:
            raise Unauthenticated("This tenant is being deleted.") from None
        return Caller(kind="user", id=claims.user_id, tenant_id=tenant_id, role=role, tenant_kind=kind)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("Use the Bearer scheme in the Authorization header.")
    return value.strip()


def require(caller: Caller, role: Role, scope: Scope) -> None:
    """Raise `Forbidden` unless a user has `role` or a key has `scope` (or the admin scope)."""
    if caller.kind == "user":
        if caller.role is None or not caller.role.allows(role):
            raise Forbidden(f"This needs the {role.value} role.")
    elif scope not in caller.scopes and Scope.ADMIN not in caller.scopes:
        raise Forbidden(f"This API key lacks the {scope.value} scope.")
