"""Drift events as stored: one row per run, target and metric that left its baseline.

`driftevents`: PK `<tenant>~<project>`, RK `<newest-first time of the run>~<event id>`. The event id is
derived from the project, run, target key and metric, so a run rolled up twice finds its event already
there (the insert conflicts) instead of raising it again; the time part is the run's creation time,
which never changes, so the RowKey is the same on every attempt.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field

from shared.storage import Conflict, ModelTable, Page, StorageAccount, TableModel, where
from shared.storage.catalog import DRIFT_EVENTS_TABLE
from shared.tenancy.records import scope_key

DRIFT_EVENT_ID_PATTERN: Final = r"^dft_[a-z2-7]{20}$"
# Row keys sort ascending; subtracting from a far-future instant lists the newest first.
_FAR_FUTURE_MS: Final = 10**15


class DriftKind(StrEnum):
    """What moved: the direction is part of the kind, so a filter can ask for regressions only."""

    QUALITY_DOWN = "quality_down"
    QUALITY_UP = "quality_up"
    LATENCY_UP = "latency_up"
    COST_CHANGED = "cost_changed"
    ERROR_RATE_UP = "error_rate_up"
    NEW_MODEL_VERSION = "new_model_version"


class DriftEventRecord(TableModel):
    """PK `<tenant>~<project>`, RK `<newest-first run time>~<event id>`: a measurement outside its baseline."""

    event_id: str
    kind: DriftKind
    metric: str = Field(description="An aggregate metric (`pass_rate`, `latency_p95`, ...) or `model_version`.")
    suite_id: str
    target_key: str
    provider: str
    model: str
    run_id: str
    run_created_at: datetime
    detected_at: datetime
    baseline_value: float | None = None
    baseline_low: float | None = None
    baseline_high: float | None = None
    baseline_n: int
    baseline_runs: int
    new_value: float | None = None
    new_low: float | None = None
    new_high: float | None = None
    new_n: int
    # For `new_model_version`: the versions the run reported that the baseline never did.
    new_model_versions: list[str] = Field(default_factory=list)
    confidence: float


def drift_event_id(tenant_id: str, project_id: str, run_id: str, target_key: str, metric: str) -> str:
    """The event id of one run, target and metric: the same inputs always give the same id."""
    digest = hashlib.sha256(f"{tenant_id}~{project_id}~{run_id}~{target_key}~{metric}".encode()).digest()
    return "dft_" + base64.b32encode(digest).decode().lower()[:20]


def drift_row_key(run_created_at: datetime, event_id: str) -> str:
    """Newest run first, then the event id."""
    millis = int(run_created_at.timestamp() * 1000)
    return f"{_FAR_FUTURE_MS - millis:016d}~{event_id}"


class DriftEventStore:
    """Stores and lists drift events per project."""

    def __init__(self, account: StorageAccount) -> None:
        self.table = ModelTable(account, DRIFT_EVENTS_TABLE, DriftEventRecord)

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def add(self, event: DriftEventRecord) -> tuple[DriftEventRecord, bool]:
        """Store a new event and return it with True; when it is already stored (the same run rolled up
        again), the stored one with False."""
        try:
            self.table.insert(event)
        except Conflict:
            return self.table.get(event.partition_key, event.row_key), False
        return event, True

    def list(
        self,
        tenant_id: str,
        project_id: str,
        *,
        suite_id: str | None,
        kind: DriftKind | None,
        limit: int,
        cursor: str | None,
    ) -> Page[DriftEventRecord]:
        """A page of the project's events, newest run first, optionally of one suite and/or kind."""
        pk = scope_key(tenant_id, project_id)
        if suite_id is not None and kind is not None:
            query = where(
                "PartitionKey eq @pk and suite_id eq @suite and kind eq @kind", pk=pk, suite=suite_id, kind=kind
            )
        elif suite_id is not None:
            query = where("PartitionKey eq @pk and suite_id eq @suite", pk=pk, suite=suite_id)
        elif kind is not None:
            query = where("PartitionKey eq @pk and kind eq @kind", pk=pk, kind=kind)
        else:
            return self.table.list_partition(pk, page_size=limit, cursor=cursor)
        return self.table.query(query, page_size=limit, cursor=cursor)
