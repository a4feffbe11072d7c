"""Runs at the edges: what a caller asks for, what is stored, what travels on the queue.

A run is a suite version × targets × trials. It is split into shards (a slice of cases for one
target); each shard is one queue message and one partition of results, so shards never write to
the same partition and a redelivered shard finds its finished items with one partition query.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.storage import TableModel

MAX_TARGETS = 10
MAX_TRIALS = 20
MAX_CONCURRENCY = 64
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_CRED_ID = re.compile(r"^crd_[a-z2-7]{20}$")


class TargetParams(BaseModel):
    """Sampling parameters of a target (None: the provider's default)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=65536)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    stop: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=4)
    response_format: str | dict[str, Any] = "text"


class TargetSpec(BaseModel):
    """One model to run the suite against."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]},
    )

    provider: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    model: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    credential_id: str | None = Field(default=None, description="Required for every provider but `sandbox`.")
    params: TargetParams = Field(default_factory=TargetParams)
    sandbox: dict[str, Any] | None = Field(
        default=None, description="Simulation parameters of a `sandbox` target (accuracy, latency, error rates)."
    )
    label: str | None = Field(default=None, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
    stream: bool = Field(default=True, description="Stream the answer (measures time to first token).")

    @field_validator("credential_id")
    @classmethod
    def _credential_id(cls, value: str | None) -> str | None:
        if value is not None and not _CRED_ID.match(value):
            raise ValueError("must be a credential id such as crd_ followed by 20 characters")
        return value

    @property
    def display(self) -> str:
        """How the target is named in tables: its label, or provider/model."""
        return self.label or f"{self.provider}:{self.model}"


class RunCreate(BaseModel):
    """A request to run a suite version against targets."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "suite_id": "ste_abcdefghijklmnopqrst",
                    "version": "0" * 64,
                    "targets": [
                        {"provider": "sandbox", "model": "sandbox/fast-accurate"},
                        {"provider": "sandbox", "model": "sandbox/cheap-sloppy"},
                    ],
                    "trials": 1,
                    "concurrency": 8,
                    "budget_usd": "5.00",
                }
            ]
        },
    )

    suite_id: str = Field(pattern=r"^ste_[a-z2-7]{20}$")
    version: str = Field(pattern=SHA256_PATTERN, description="The suite version's SHA-256.")
    targets: list[TargetSpec] = Field(min_length=1, max_length=MAX_TARGETS)
    trials: int = Field(default=1, ge=1, le=MAX_TRIALS)
    concurrency: int = Field(default=8, ge=1, le=MAX_CONCURRENCY, description="Provider calls in flight at most.")
    budget_usd: Decimal | None = Field(default=None, gt=0, le=100000, description="Refused or stopped beyond this.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class RunStatus(StrEnum):
    """Where a run is."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True once the run will not change by itself."""
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class ShardStatus(StrEnum):
    """Where a shard is."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # its message went to the poison queue
    CANCELLED = "cancelled"
    BUDGET_STOPPED = "budget_stopped"

    @property
    def terminal(self) -> bool:
        """True once no worker will touch the shard again (unless retry-errors resets it)."""
        return self not in (ShardStatus.PENDING, ShardStatus.RUNNING)


class RunRecord(TableModel):
    """PK = "<tenant>~<project>", RK = run id."""

    suite_id: str
    version: str
    targets: list[TargetSpec]
    trials: int
    concurrency: int
    budget_usd: str | None = None
    seed: int
    status: RunStatus
    status_reason: str | None = None
    shard_count: int
    item_count: int
    estimate_usd: str | None = None
    unpriced_targets: list[str] = Field(default_factory=list)
    price_version: str
    created_at: datetime
    created_by: str
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    schedule_id: str | None = None  # set when a schedule started the run


class ShardRecord(TableModel):
    """PK = "<tenant>~<project>~<run>", RK = shard id. Progress of one shard, written only by its worker."""

    target_id: str
    case_start: int
    case_end: int
    status: ShardStatus
    done: int = 0
    errors: int = 0
    passed: int = 0
    cost_usd: str = "0"
    judge_cost_usd: str = "0"
    retries: int = 0
    attempts: int = 0
    updated_at: datetime
    failure: str | None = None


class ShardMessage(BaseModel):
    """The queue message of one shard: ids only, never case bodies."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^ten_[a-z2-7]{20}$")
    project_id: str = Field(pattern=r"^prj_[a-z2-7]{20}$")
    run_id: str = Field(pattern=r"^run_[a-z2-7]{20}$")
    shard_id: str = Field(pattern=r"^t[0-9]{2}-[0-9]{6}$")
    retry_errors: bool = False


class ItemStatus(StrEnum):
    """The outcome of one (case, trial) of a target."""

    OK = "ok"
    ERROR = "error"


class ResultRecord(TableModel):
    """PK = "<tenant>~<project>~<run>~<shard>", RK = "<case id>~<trial>": one answer, scored and costed."""

    target_id: str
    case_id: str
    trial: int
    status: ItemStatus
    score: float | None = None
    passed: bool | None = None
    scores: list[dict[str, Any]] = Field(default_factory=list)
    output: str | None = None
    output_blob: str | None = None
    output_chars: int = 0
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    request_id: str | None = None
    model_version: str | None = None
    retries: int = 0
    cost_usd: str | None = None
    priced: bool = False
    price_version: str | None = None
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost_usd: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    attempts: int = 1
    completed_at: datetime
