"""How long packs live: `PACK_LIFETIME` after they are ready, or less under a project's retention.

A pack copies results and outputs out of the tables, so it must not outlive them for long. Every
day the lifetime sweep deletes the blob of each pack ready for longer than `PACK_LIFETIME` and marks
its export `expired` (the row stays: it holds ids, times and a hash, no results, and tells a caller
what happened). The project retention sweep (`shared.lifecycle.retention`) does the same, through
`expire_created_before`, for exports created before its cutoff. Each expiry is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.exports.models import ExportRecord, ExportStatus
from shared.exports.store import ExportStore
from shared.lifecycle.cascade import SYSTEM_ACTOR
from shared.tenancy.audit import AuditLog

PACK_LIFETIME = timedelta(days=30)

ExpiryReason = Literal["lifetime", "retention"]


@dataclass(frozen=True)
class Expired:
    """One export whose pack was deleted."""

    tenant_id: str
    project_id: str
    export_id: str


def expire_lifetime(store: ExportStore, audit: AuditLog, now: datetime) -> list[Expired]:
    """Expire every pack, in every project, ready before `now - PACK_LIFETIME`."""
    cutoff = now - PACK_LIFETIME
    return [done for record in list(store.ready_before(cutoff)) if (done := _expire(store, audit, record, "lifetime"))]


def expire_created_before(
    store: ExportStore, audit: AuditLog, tenant_id: str, project_id: str, cutoff: datetime
) -> list[Expired]:
    """Expire the project's packs of exports created before `cutoff` (its retention period)."""
    records = [
        record
        for record in store.created_before(tenant_id, project_id, cutoff)
        # One still being built is left for the next sweep rather than raced with its builder.
        if record.status in (ExportStatus.READY, ExportStatus.FAILED)
    ]
    return [done for record in records if (done := _expire(store, audit, record, "retention"))]


def _expire(store: ExportStore, audit: AuditLog, record: ExportRecord, reason: ExpiryReason) -> Expired | None:
    tenant_id, project_id = record.partition_key.split("~", 1)
    updated = store.expire(record)
    if updated is None or updated.status is not ExportStatus.EXPIRED:
        return None
    audit.record(
        tenant_id,
        project_id,
        SYSTEM_ACTOR,
        "export.expired",
        "export",
        record.row_key,
        {"reason": reason, "kind": record.kind.value, "subject_id": record.subject_id},
    )
    return Expired(tenant_id, project_id, record.row_key)
