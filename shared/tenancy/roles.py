"""Roles of people in a tenant and scopes of project API keys, and what each allows."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role in a tenant; each role includes the rights of those below it."""

    VIEWER = "viewer"  # reads
    MEMBER = "member"  # runs benchmarks
    ADMIN = "admin"  # manages keys, credentials and settings
    OWNER = "owner"  # deletes projects and the tenant

    @property
    def rank(self) -> int:
        """Position in the order viewer < member < admin < owner."""
        return _ORDER.index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role has at least the rights of `needed`."""
        return self.rank >= needed.rank


_ORDER = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


class Scope(StrEnum):
    """What a project API key may do."""

    RUNS_WRITE = "runs:write"
    RUNS_READ = "runs:read"
    EXPORTS_READ = "exports:read"
    ROUTES_READ = "routes:read"
    ADMIN = "admin"


# Clerk's built-in organization roles are admin and member; its admin can delete the organization,
# so it is our owner. Custom Clerk roles named like ours map to them.
_CLERK_ROLES = {
    "owner": Role.OWNER,
    "admin": Role.OWNER,
    "manager": Role.ADMIN,
    "member": Role.MEMBER,
    "basic_member": Role.MEMBER,
    "viewer": Role.VIEWER,
    "guest": Role.VIEWER,
}


def role_from_clerk(clerk_role: str | None) -> Role:
    """Map a Clerk organization role (`org:admin`, custom `org:viewer`, ...) to ours; unknown -> viewer."""
    name = (clerk_role or "").removeprefix("org:").lower()
    return _CLERK_ROLES.get(name, Role.VIEWER)
