"""Exports at the edges: what a caller asks for, the stored row, the queue message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.storage import TableModel

EXPORT_ID_PATTERN = r"^exp_[a-z2-7]{20}$"


class ExportKind(StrEnum):
    """What a pack holds."""

    RUN = "run"
    SUITE = "suite"
    DECISION = "decision"
    PROJECT = "project"
    TENANT = "tenant"  # every record of the tenant, for a data request (`shared.exports.tenant_content`)


class ExportStatus(StrEnum):
    """Where an export is."""

    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"  # the pack was deleted (its lifetime or the project's retention); the row remains


class ExportCreate(BaseModel):
    """A request to export one thing of the project as a benchmark pack."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "run", "id": "run_abcdefghijklmnopqrst"}]},
    )

    kind: ExportKind
    id: str | None = Field(
        default=None,
        pattern=r"^(run|ste|rdc)_[a-z2-7]{20}$",
        description="The run, suite or route decision id; omitted for a whole project.",
    )

    @field_validator("kind")
    @classmethod
    def _of_the_project(cls, kind: ExportKind) -> ExportKind:
        if kind is ExportKind.TENANT:
            raise ValueError("a tenant's data export is requested with POST /api/v1/tenant/exports (owner)")
        return kind


class ExportRecord(TableModel):
    """PK = "<tenant>~<project>", RK = export id."""

    kind: ExportKind
    subject_id: str
    status: ExportStatus
    blob: str
    created_at: datetime
    created_by: str
    ready_at: datetime | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    files: int | None = None
    failure: str | None = None
    expired_at: datetime | None = None


class ExportMessage(BaseModel):
    """The queue message of one export: ids only."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^ten_[a-z2-7]{20}$")
    # "-" for a tenant export, whose row sits in the tenant-wide scope `<tenant>~-`.
    project_id: str = Field(pattern=r"^(prj_[a-z2-7]{20}|-)$")
    export_id: str = Field(pattern=EXPORT_ID_PATTERN)
