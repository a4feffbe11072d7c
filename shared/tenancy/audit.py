"""The audit trail: append-only records of who did what to keys, credentials, exports, deletions, settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from shared.clock import Clock
from shared.storage import ModelTable, Page, StorageAccount
from shared.storage.catalog import AUDIT_TABLE
from shared.tenancy.records import AuditRecord, scope_key

# Row keys sort ascending; subtracting from a far-future instant lists the newest first.
_FAR_FUTURE_MS = 10**15


@dataclass(frozen=True)
class Actor:
    """Who acted, and from where."""

    kind: str  # "user", "api_key" or "system"
    id: str
    source_ip: str | None = None
    user_agent: str | None = None


class AuditLog:
    """Appends and lists audit records per tenant and project."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, AUDIT_TABLE, AuditRecord)
        self.clock = clock

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def record(
        self,
        tenant_id: str,
        project_id: str | None,
        actor: Actor,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one entry (never overwritten: the row key is unique)."""
        at = self.clock.now()
        millis = int(at.timestamp() * 1000)
        entry = AuditRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=f"{_FAR_FUTURE_MS - millis:016d}-{secrets.token_hex(4)}",
            at=at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            source_ip=actor.source_ip,
            user_agent=(actor.user_agent or "")[:256] or None,
            details=details,
        )
        self.table.insert(entry)
        return entry

    def list(self, tenant_id: str, project_id: str | None, *, limit: int, cursor: str | None) -> Page[AuditRecord]:
        """A page of entries, newest first."""
        return self.table.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)
