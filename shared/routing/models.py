"""Route decisions at the edges: the request, the decision document, and the stored rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.stats.compare import Comparison
from shared.stats.summary import Interval
from shared.storage import TableModel

TASK_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
RUN_ID_PATTERN = r"^run_[a-z2-7]{20}$"
DECISION_ID_PATTERN = r"^rdc_[a-z2-7]{20}$"
# The decision document's schema name: part of the hashed content, so a later format never collides.
FORMAT = "tokenroute.route-decision/v1"
MAX_EVIDENCE_RUNS = 50
MAX_CANDIDATES = 20


class Objective(StrEnum):
    """What the choice optimizes among candidates that meet every constraint."""

    MAXIMIZE_QUALITY = "maximize_quality"
    MINIMIZE_COST = "minimize_cost"
    MINIMIZE_LATENCY = "minimize_latency"


class DecisionStatus(StrEnum):
    """`decided`: a target is chosen on enough evidence. `insufficient_evidence`: no candidate meets the
    constraints on its bounds, or the top two cannot be told apart and nothing else breaks the tie."""

    DECIDED = "decided"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


class CandidateSelector(BaseModel):
    """A candidate target, matched against the evidence runs' targets by provider and model."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    model: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")

    @property
    def key(self) -> str:
        """`provider:model`, the candidate's name in the decision."""
        return f"{self.provider}:{self.model}"


class TimeWindow(BaseModel):
    """Runs created in [start, end) are the evidence."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("give both times with a time zone (e.g. 2026-11-01T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class EvidenceRequest(BaseModel):
    """The evidence: listed runs, or every completed or partial run created in a time window
    (optionally of one suite). Either way only runs of this project count."""

    model_config = ConfigDict(extra="forbid")

    runs: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_EVIDENCE_RUNS, description="Run ids (`run_...`), each at most once."
    )
    window: TimeWindow | None = Field(default=None, description="Instead of `runs`: the runs created in this window.")
    suite_id: str | None = Field(
        default=None, pattern=r"^ste_[a-z2-7]{20}$", description="With `window`: only runs of this suite."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.runs is None) == (self.window is None):
            raise ValueError("give either `runs` or `window`")
        if self.suite_id is not None and self.window is None:
            raise ValueError("`suite_id` narrows a `window`; with `runs`, list the runs")
        return self


class Constraints(BaseModel):
    """Limits every chosen target must meet, each checked on an interval bound (see the decision's checks)."""

    model_config = ConfigDict(extra="forbid")

    min_quality: float | None = Field(
        default=None, ge=0, le=1, description="Minimum pass rate, checked on the Wilson interval's lower bound."
    )
    max_p95_latency_ms: float | None = Field(
        default=None, gt=0, description="Maximum p95 latency, checked on a distribution-free upper bound of p95."
    )
    max_cost_per_1k_usd: Decimal | None = Field(
        default=None, gt=0, description="Maximum cost per 1,000 requests, checked on a bootstrap upper bound."
    )
    max_error_rate: float | None = Field(
        default=None, ge=0, le=1, description="Maximum error rate, checked on the Wilson interval's upper bound."
    )


class DecisionRequest(BaseModel):
    """A request to decide the route of one task."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "task": "support-triage",
                    "evidence": {"runs": ["run_abcdefghijklmnopqrst"]},
                    "candidates": [
                        {"provider": "sandbox", "model": "sandbox/fast-accurate"},
                        {"provider": "sandbox", "model": "sandbox/cheap-sloppy"},
                    ],
                    "objective": "minimize_cost",
                    "constraints": {"min_quality": 0.8, "max_p95_latency_ms": 3000, "max_error_rate": 0.05},
                    "confidence": 0.95,
                    "expires_in_days": 30,
                }
            ]
        },
    )

    task: str = Field(pattern=TASK_PATTERN, description="The task key gateways ask for, e.g. `support-triage`.")
    evidence: EvidenceRequest
    candidates: list[CandidateSelector] | None = Field(
        default=None,
        max_length=MAX_CANDIDATES,
        description="Targets to choose from; default: every provider and model in the evidence.",
    )
    objective: Objective = Objective.MAXIMIZE_QUALITY
    constraints: Constraints = Field(default_factory=Constraints)
    confidence: float = Field(default=0.95, ge=0.5, le=0.999, description="Confidence level of every bound.")
    expires_in_days: int = Field(default=30, ge=1, le=365, description="The decision expires after this age.")


class ConstraintCheck(BaseModel):
    """One constraint of one candidate: the bound it was checked on, and why it failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    constraint: Literal["min_quality", "max_p95_latency_ms", "max_cost_per_1k_usd", "max_error_rate"]
    limit: float
    estimate: float | None = Field(description="The point estimate (mean or observed p95).")
    bound: float | None = Field(description="The interval bound that was checked; null when none can be computed.")
    met: bool
    reason: str | None = None


class CandidateStats(BaseModel):
    """One candidate's pooled results over the evidence runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    provider: str
    model: str
    n: int
    n_scored: int
    errors: int
    pass_rate: Interval | None
    mean_score: Interval | None
    error_rate: Interval | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p95_high_ms: float | None = Field(description="Upper confidence bound of p95 (null: too few timings).")
    cost_per_1k_usd: Decimal | None = Field(description="Mean provider cost per request x 1,000 (judge cost excluded).")
    cost_per_1k_high_usd: Decimal | None = Field(description="Bootstrap upper bound of cost per 1,000 requests.")
    unpriced: int
    model_versions: list[str]
    runs: list[str]


class Candidate(BaseModel):
    """A candidate, its statistics and its constraint checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stats: CandidateStats
    checks: list[ConstraintCheck]
    feasible: bool
    pareto: bool = False


class Gap(BaseModel):
    """The chosen target against another: differences are chosen minus other."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    quality_diff: float | None
    cost_per_1k_diff_usd: Decimal | None
    p95_latency_diff_ms: float | None


class EvidenceRun(BaseModel):
    """One run of the evidence, as it was when the decision was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    suite_id: str
    suite_version: str
    price_version: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    results: int


class Evidence(BaseModel):
    """Provenance: what the decision rests on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runs: list[EvidenceRun]
    suite_versions: list[str]
    price_versions: list[str]
    window_start: datetime
    window_end: datetime
    sample_sizes: dict[str, int]
    model_versions: dict[str, list[str]]


class CasesNeeded(BaseModel):
    """How much more evidence would settle the question, if the observed rates held (an estimate)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    target: str | None
    cases_needed: int | None = Field(description="Total cases per target; null when no number of cases would do.")
    cases_missing: int | None = Field(description="Beyond what the evidence has; null when no number would do.")


class Decision(BaseModel):
    """The decision document: stored as canonical JSON under its SHA-256, never rewritten."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = FORMAT
    decision_id: str
    project_id: str
    task: str
    decided_at: datetime
    expires_at: datetime
    objective: Objective
    constraints: Constraints
    confidence: float
    status: DecisionStatus
    chosen: str | None
    fallbacks: list[str]
    pareto_frontier: list[str]
    candidates: list[Candidate]
    gap_to_best_quality: Gap | None
    gap_to_cheapest: Gap | None
    comparison: Comparison | None
    confidence_statement: str
    rationale: str
    cases_needed: CasesNeeded | None
    evidence: Evidence


class RouteDecisionRecord(TableModel):
    """PK = "<tenant>~<project>", RK = decision id: the metadata of one immutable decision."""

    task: str
    status: DecisionStatus
    chosen: str | None = None
    content_sha256: str
    blob: str
    decided_at: datetime
    expires_at: datetime
    supersedes: str | None = None
    # Set once, when a newer decision for the task is stored; the content blob never changes.
    superseded_by: str | None = None
    superseded_at: datetime | None = None
    # Set once, when a drift event hits the evidence of the decision while it is the current route.
    drift_event_id: str | None = None
    drifted_at: datetime | None = None


class RouteTarget(BaseModel):
    """A target a gateway calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    provider: str
    model: str


class CurrentRouteRecord(TableModel):
    """PK = "<tenant>~<project>", RK = task: the latest decision's answer, for one point read."""

    decision_id: str
    status: DecisionStatus
    chosen: RouteTarget | None = None
    fallbacks: list[RouteTarget] = Field(default_factory=list)
    decided_at: datetime
    expires_at: datetime
    content_sha256: str
    # Set by a drift event on the decision's evidence (`shared.trends.drift`); a new decision's row
    # replaces this one whole, which clears it.
    drift_event_id: str | None = None
    drifted_at: datetime | None = None
