"""Schedules at the edges: what a caller asks for, the stored schedule, and one row per due time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.runs.models import MAX_CONCURRENCY, MAX_TARGETS, MAX_TRIALS, SHA256_PATTERN, RunCreate, TargetSpec
from shared.schedules.cron import parse_cron
from shared.storage import TableModel

SCHEDULE_PREFIX = "sch"
SCHEDULE_ID_PATTERN = r"^sch_[a-z2-7]{20}$"
# What a schedule hands to each run it starts.
_RUN_FIELDS = {"suite_id", "version", "targets", "trials", "concurrency", "budget_usd"}

_CRON_DESCRIPTION = (
    "NCRONTAB in UTC: six fields `second minute hour day month day-of-week`, or five without seconds. "
    "At most one occurrence every 15 minutes."
)
_EXAMPLE: dict[str, Any] = {
    "name": "nightly regression",
    "suite_id": "ste_abcdefghijklmnopqrst",
    "version": "0" * 64,
    "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}],
    "trials": 1,
    "concurrency": 8,
    "budget_usd": "5.00",
    "cron": "0 30 2 * * *",
}


def _cron(value: str) -> str:
    parse_cron(value)  # a ValueError carries the parser's message, shown at `body.cron`
    return value.strip()


Cron = Annotated[str, Field(min_length=9, max_length=120, description=_CRON_DESCRIPTION), AfterValidator(_cron)]


class ScheduleCreate(BaseModel):
    """A suite version to run against targets on a schedule, with a budget per run."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    suite_id: str = Field(pattern=r"^ste_[a-z2-7]{20}$")
    version: str = Field(pattern=SHA256_PATTERN, description="The suite version's SHA-256.")
    targets: list[TargetSpec] = Field(min_length=1, max_length=MAX_TARGETS)
    trials: int = Field(default=1, ge=1, le=MAX_TRIALS)
    concurrency: int = Field(default=8, ge=1, le=MAX_CONCURRENCY, description="Provider calls in flight at most.")
    budget_usd: Decimal = Field(gt=0, le=100000, description="Each run's budget: refused or stopped beyond it.")
    cron: Cron
    paused: bool = Field(default=False, description="A paused schedule never fires.")

    def run_request(self) -> RunCreate:
        """The run this schedule would start."""
        return RunCreate(**self.model_dump(include=_RUN_FIELDS))


class ScheduleUpdate(BaseModel):
    """Changes to a schedule: any of its fields; `paused` pauses and resumes it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"paused": True}, {"cron": "0 0 6 * * 1-5", "budget_usd": "8.00"}]},
    )

    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    suite_id: str | None = Field(default=None, pattern=r"^ste_[a-z2-7]{20}$")
    version: str | None = Field(default=None, pattern=SHA256_PATTERN)
    targets: list[TargetSpec] | None = Field(default=None, min_length=1, max_length=MAX_TARGETS)
    trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    budget_usd: Decimal | None = Field(default=None, gt=0, le=100000)
    cron: Cron | None = None
    paused: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ScheduleUpdate:
        if not self.model_fields_set or all(getattr(self, name) is None for name in self.model_fields_set):
            raise ValueError("give at least one field to change")
        return self


class FiringStatus(StrEnum):
    """What became of one due time of a schedule."""

    CLAIMED = "claimed"  # an invocation owns it and is starting the run
    STARTED = "started"
    SKIPPED = "skipped"
    REFUSED = "refused"  # the estimate was above the budget
    FAILED = "failed"  # the run could not start (a credential or the suite is gone, ...)


class ScheduleRecord(TableModel):
    """PK = "<tenant>~<project>", RK = schedule id (`sch_...`)."""

    name: str | None = None
    suite_id: str
    version: str
    targets: list[TargetSpec]
    trials: int
    concurrency: int
    budget_usd: str
    cron: str
    paused: bool = False
    next_due_at: datetime
    last_run_id: str | None = None
    last_fired_at: datetime | None = None
    last_outcome: FiringStatus | None = None
    last_outcome_reason: str | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    def run_request(self) -> RunCreate:
        """The run this schedule starts."""
        return RunCreate(**self.model_dump(include=_RUN_FIELDS))


class FiringRecord(TableModel):
    """PK = "<tenant>~<project>~<schedule>", RK = the due time (`occurrence_key`).

    Inserting the row claims the due time; the run id is chosen in the claim, so whoever finishes a
    claim after a crash starts that same run (or finds it), never a second one.
    """

    status: FiringStatus
    run_id: str | None = None
    reason: str | None = None
    estimate_usd: str | None = None
    claimed_at: datetime
    updated_at: datetime


def occurrence_key(moment: datetime) -> str:
    """A due time as a sortable RowKey: `2026-11-27T19:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
