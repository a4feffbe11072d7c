"""Evidence: the requested runs and their results, resolved into candidate pools and provenance.

A candidate is a provider and model: its results are pooled over every evidence run and every target
of a run with that provider and model (different labels or sampling parameters of one model pool too;
ask for separate decisions to tell them apart). Cases are keyed by suite version and case id, so the
same suite run twice gives two trials of each case, and two suites never mix their case ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.routing.candidates import Observation
from shared.routing.decide import Pool
from shared.routing.models import MAX_EVIDENCE_RUNS, CandidateSelector, Evidence, EvidenceRequest, EvidenceRun
from shared.runs.models import ItemStatus, ResultRecord, RunRecord, RunStatus
from shared.runs.results import ResultStore
from shared.runs.sharding import target_id
from shared.runs.store import RunStore

# Runs whose results are final: completed, or partial (some shards failed or the budget ran out).
USABLE_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.PARTIAL})


@dataclass
class EvidenceError(Exception):
    """The evidence cannot be used: `path` names the request field, `kind` is `not_found` or `invalid`."""

    path: str
    message: str
    kind: str = "invalid"


def observation(run: RunRecord, row: ResultRecord) -> Observation:
    """What the decision needs of one result row."""
    return Observation(
        run_id=run.row_key,
        case_key=f"{run.version}:{row.case_id}",
        passed=row.passed,
        score=row.score,
        error=row.status is ItemStatus.ERROR,
        latency_ms=row.latency_ms,
        cost_usd=Decimal(row.cost_usd) if row.cost_usd is not None else None,
        model_version=row.model_version,
    )


def build_pools(
    runs: Sequence[RunRecord],
    rows: Mapping[str, Sequence[ResultRecord]],
    selectors: Sequence[CandidateSelector] | None,
) -> list[Pool]:
    """One pool per candidate (the selectors' order, else first appearance in the runs). EvidenceError
    when a selector matches no target of the evidence."""
    observations: dict[str, list[Observation]] = defaultdict(list)
    names: dict[str, tuple[str, str]] = {}
    for run in runs:
        keys = {target_id(i): f"{t.provider}:{t.model}" for i, t in enumerate(run.targets)}
        for t in run.targets:
            names.setdefault(f"{t.provider}:{t.model}", (t.provider, t.model))
        for row in rows.get(run.row_key, ()):
            key = keys.get(row.target_id)
            if key is not None:
                observations[key].append(observation(run, row))
    wanted = [s.key for s in selectors] if selectors else list(names)
    for index, key in enumerate(wanted):
        if key not in names:
            raise EvidenceError(f"body.candidates[{index}]", f"{key} is not a target of any evidence run")
    unique = list(dict.fromkeys(wanted))
    return [Pool(key, names[key][0], names[key][1], observations.get(key, [])) for key in unique]


def provenance(
    runs: Sequence[RunRecord], rows: Mapping[str, Sequence[ResultRecord]], pools: Iterable[Pool]
) -> Evidence:
    """Run ids, suite versions, price versions, the time window, sample sizes and model versions."""
    pools = list(pools)
    return Evidence(
        runs=[
            EvidenceRun(
                run_id=run.row_key,
                suite_id=run.suite_id,
                suite_version=run.version,
                price_version=run.price_version,
                status=run.status.value,
                created_at=run.created_at,
                finished_at=run.finished_at,
                results=len(rows.get(run.row_key, ())),
            )
            for run in runs
        ],
        suite_versions=sorted({run.version for run in runs}),
        price_versions=sorted({run.price_version for run in runs}),
        window_start=min(run.created_at for run in runs),
        window_end=max(run.finished_at or run.created_at for run in runs),
        sample_sizes={p.target: len(p.observations) for p in pools},
        model_versions={p.target: sorted({o.model_version for o in p.observations if o.model_version}) for p in pools},
    )


def select_runs(runs: RunStore, tenant_id: str, project_id: str, request: EvidenceRequest) -> list[str]:
    """The run ids the evidence names: the listed ones, or the usable runs created in the window
    (newest first, at most MAX_EVIDENCE_RUNS); EvidenceError when a window holds none."""
    if request.runs is not None:
        return request.runs
    assert request.window is not None  # the model guarantees one of the two
    window = request.window
    found: list[RunRecord] = []
    cursor: str | None = None
    while True:
        page = runs.list_runs(tenant_id, project_id, limit=1000, cursor=cursor)
        found.extend(
            run
            for run in page.items
            if run.status in USABLE_STATUSES
            and window.start <= run.created_at < window.end
            and (request.suite_id is None or run.suite_id == request.suite_id)
        )
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    if not found:
        raise EvidenceError("body.evidence.window", "no completed or partial run was created in this window")
    found.sort(key=lambda run: run.created_at, reverse=True)
    return [run.row_key for run in found[:MAX_EVIDENCE_RUNS]]


def load_runs(
    runs: RunStore, results: ResultStore, tenant_id: str, project_id: str, run_ids: Sequence[str]
) -> tuple[list[RunRecord], dict[str, list[ResultRecord]]]:
    """The runs (in request order) and all their results; EvidenceError for a missing or unfinished run."""
    if len(set(run_ids)) != len(run_ids):
        raise EvidenceError("body.evidence.runs", "each run may be listed once")
    records: list[RunRecord] = []
    for index, run_id in enumerate(run_ids):
        record = runs.find(tenant_id, project_id, run_id)
        if record is None:
            raise EvidenceError(f"body.evidence.runs[{index}]", f"no such run {run_id}", "not_found")
        if record.status not in USABLE_STATUSES:
            raise EvidenceError(
                f"body.evidence.runs[{index}]",
                f"run {run_id} is {record.status.value}; only completed or partial runs are evidence",
            )
        records.append(record)
    rows = {r.row_key: list(results.all_of_run(tenant_id, project_id, r.row_key)) for r in records}
    return records, rows
