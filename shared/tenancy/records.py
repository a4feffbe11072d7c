"""What tenancy stores in Tables: tenants, memberships, projects, API keys, audit entries.

Every key starts with the tenant (and the project where there is one), so no query can reach
another tenant's rows. The API key index is the one exception: it is keyed by the key id the
caller presents, holds no secret, and points to the tenant-scoped key record.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.storage import TableModel
from shared.tenancy.roles import Role, Scope


class TenantKind(StrEnum):
    """A Clerk organization or one person's own workspace."""

    ORGANIZATION = "organization"
    PERSONAL = "personal"


class TenantRecord(TableModel):
    """PK = tenant id, RK = "tenant"."""

    kind: TenantKind
    clerk_id: str
    created_at: datetime
    deleted_at: datetime | None = None


class MembershipRecord(TableModel):
    """PK = tenant id, RK = user id: the member's role as last seen."""

    role: Role
    created_at: datetime
    updated_at: datetime


class UserTenantRecord(TableModel):
    """PK = user id, RK = tenant id: the tenants a user belongs to, for `/me`."""

    kind: TenantKind
    role: Role
    updated_at: datetime


class ProjectRecord(TableModel):
    """PK = tenant id, RK = project id."""

    name: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    # Cross-tenant aggregates may count this project only after an admin opts in (audited).
    aggregate_opt_in: bool = False
    # Results and outputs of runs older than this many days are deleted daily; None keeps them.
    retention_days: int | None = None


class DeletionRecord(TableModel):
    """PK = tenant id, RK = id of the deleted resource (`del_...` for the tenant itself).

    Work left for the lifecycle job; once completed, the receipt of the deletion.
    """

    kind: str
    # The project of a deleted run or suite (a project's own tombstone has its id as RK).
    project_id: str | None = None
    name: str
    requested_at: datetime
    requested_by: str
    completed_at: datetime | None = None
    # When a first pass ended; a project's or tenant's cascade sweeps again after a grace period,
    # for rows a shard that was running at the time may still have written.
    swept_at: datetime | None = None
    # Progress of the cascade, so a retry after a crash says what is already done.
    steps_done: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)


class ApiKeyRecord(TableModel):
    """PK = "<tenant>~<project>", RK = key id. Holds the HMAC of the secret, never the secret."""

    name: str
    scopes: list[Scope]
    secret_hash: str
    display_prefix: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyIndexRecord(TableModel):
    """PK = key id, RK = "key": where the key's record lives (immutable)."""

    tenant_id: str
    project_id: str


class AuditRecord(TableModel):
    """PK = "<tenant>~<project>" (or "<tenant>~-" for tenant-wide), RK = newest-first time key."""

    at: datetime
    actor_kind: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] | None = None


def scope_key(tenant_id: str, project_id: str | None = None) -> str:
    """The partition of project-scoped rows (`~` cannot occur in ids)."""
    return f"{tenant_id}~{project_id or '-'}"
