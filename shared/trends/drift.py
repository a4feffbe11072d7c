"""Drift: a run's measurement of a target compared with the same suite and target's recent past.

The rollup calls `DriftDetector.after_rollup` with the parts it just wrote. For each run x target among
them, the run's parts merge into its aggregate (the *new* measurement) and the parts of the same suite
and target from the BASELINE_DAYS before the run's last hour, other runs only, merge into the
*baseline*. A baseline needs MIN_BASELINE_RUNS runs and MIN_BASELINE_N samples of a metric, the new
measurement MIN_NEW_N, or that metric is not judged.

The test: both intervals at 95% (the aggregate's own: Wilson for rates, normal for means, the
distribution-free order-statistic interval for p95) and drift only when they do not overlap at all.
Two disjoint 95% intervals is a stricter test than a two-sample test at 5% (about p < 0.01 for equal
widths, less for unequal ones), on purpose: every run checks several metrics per target, and false
alarms make routes stale. On top, a change must be large enough to matter (`RULES`: 5 points of
quality or pass rate, 2 points of error rate, 20% of p95 latency, 5% of cost per case), so a huge
baseline with a razor-thin interval does not flag a trivial shift. A model version the provider
reports that the baseline never saw is drift without a test.

Events are stored once per run, target and metric (`shared.trends.drift_events`); then every current
route of the project whose decision was made before the event, rests on evidence of that suite and
has a candidate of that provider and model is marked stale (`DecisionStore.mark_drifted`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.clock import Clock
from shared.routing.store import DecisionStore, TamperedDecision
from shared.runs.store import RunStore
from shared.storage import ModelTable, StorageAccount, where
from shared.storage.catalog import ROLLUP_PARTS_TABLE
from shared.tenancy.records import scope_key
from shared.trends.aggregate import CONFIDENCE, Aggregate, MetricValue
from shared.trends.drift_events import (
    DriftEventRecord,
    DriftEventStore,
    DriftKind,
    drift_event_id,
    drift_row_key,
)
from shared.trends.models import RollupPartRecord, bucket_text, series_partition

log = logging.getLogger("tokenroute.trends")

BASELINE_DAYS: Final = 14
MIN_BASELINE_RUNS: Final = 2
MIN_BASELINE_N: Final = 30
MIN_NEW_N: Final = 10
MODEL_VERSION: Final = "model_version"


@dataclass(frozen=True)
class Rule:
    """How one metric drifts: the kinds for a rise and a fall (None: not drift) and the smallest change
    that counts, absolute or relative to the baseline."""

    metric: str
    up: DriftKind | None
    down: DriftKind | None
    min_change: float
    relative: bool


RULES: Final[tuple[Rule, ...]] = (
    Rule("quality", DriftKind.QUALITY_UP, DriftKind.QUALITY_DOWN, 0.05, relative=False),
    Rule("pass_rate", DriftKind.QUALITY_UP, DriftKind.QUALITY_DOWN, 0.05, relative=False),
    Rule("latency_p95", DriftKind.LATENCY_UP, None, 0.20, relative=True),
    Rule("cost_per_case", DriftKind.COST_CHANGED, DriftKind.COST_CHANGED, 0.05, relative=True),
    Rule("error_rate", DriftKind.ERROR_RATE_UP, None, 0.02, relative=False),
)


def shift(rule: Rule, baseline: MetricValue | None, new: MetricValue | None) -> DriftKind | None:
    """The drift `new` shows against `baseline` under `rule` (see the module docstring), or None."""
    if baseline is None or new is None or baseline.n < MIN_BASELINE_N or new.n < MIN_NEW_N:
        return None
    if baseline.low is None or baseline.high is None or new.low is None or new.high is None:
        return None  # a metric without an interval (tokens per second, a single value) is not judged
    change = abs(new.value - baseline.value)
    if rule.relative:
        change = change / baseline.value if baseline.value > 0 else (1.0 if change > 0 else 0.0)
    if change < rule.min_change:
        return None
    if new.low > baseline.high:
        return rule.up
    if new.high < baseline.low:
        return rule.down
    return None


@dataclass(frozen=True)
class Measurement:
    """One run's aggregate of one target of a suite, and the baseline it is judged against."""

    suite_id: str
    target_key: str
    provider: str
    model: str
    run_id: str
    new: Aggregate
    baseline: Aggregate
    baseline_runs: int


class DriftDetector:
    """The rollup's hook: finds drift in newly rolled-up runs, stores it, and marks routes stale."""

    def __init__(self, account: StorageAccount, clock: Clock, runs: RunStore, decisions: DecisionStore) -> None:
        self.parts = ModelTable(account, ROLLUP_PARTS_TABLE, RollupPartRecord)
        self.events = DriftEventStore(account)
        self.clock = clock
        self.runs = runs
        self.decisions = decisions

    def ensure(self) -> None:
        """Create the events table (idempotent; the parts table is the rollup's)."""
        self.events.ensure()

    def after_rollup(self, tenant_id: str, project_id: str, new_parts: Sequence[RollupPartRecord]) -> None:
        """Judge every run x target in `new_parts`; store its drift events and mark the routes they hit."""
        grouped: dict[tuple[str, str, str], list[RollupPartRecord]] = defaultdict(list)
        for part in new_parts:
            grouped[(part.suite_id, part.target_key, part.run_id)].append(part)
        events: list[DriftEventRecord] = []
        for parts in grouped.values():
            measurement = self.measure(tenant_id, project_id, parts)
            if measurement is not None:
                events.extend(self._record(tenant_id, project_id, measurement))
        if events:
            self.mark_routes(tenant_id, project_id, events)

    def measure(self, tenant_id: str, project_id: str, parts: Sequence[RollupPartRecord]) -> Measurement | None:
        """The run's aggregate of the target and its baseline; None when the baseline is too thin."""
        first = parts[0]
        last_hour = max(part.hour for part in parts)
        low = f"{first.target_key}~{bucket_text(last_hour - timedelta(days=BASELINE_DAYS))}"
        high = f"{first.target_key}~{bucket_text(last_hour + timedelta(hours=1))}"
        query = where(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and run_id ne @run",
            pk=series_partition(tenant_id, project_id, first.suite_id),
            low=low,
            high=high,
            run=first.run_id,
        )
        baseline = Aggregate()
        runs: set[str] = set()
        cursor: str | None = None
        while True:
            page = self.parts.query(query, page_size=1000, cursor=cursor)
            for part in page.items:
                baseline.merge(part.parsed())
                runs.add(part.run_id)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if len(runs) < MIN_BASELINE_RUNS:
            return None
        return Measurement(
            suite_id=first.suite_id,
            target_key=first.target_key,
            provider=first.provider,
            model=first.model,
            run_id=first.run_id,
            new=Aggregate.merged(part.parsed() for part in parts),
            baseline=baseline,
            baseline_runs=len(runs),
        )

    def _record(self, tenant_id: str, project_id: str, m: Measurement) -> list[DriftEventRecord]:
        """Store the measurement's events (each once); returns them as stored."""
        run = self.runs.find(tenant_id, project_id, m.run_id)
        if run is None:
            return []  # deleted since: its completion row removes its parts too
        found = judge(tenant_id, project_id, m, run_created_at=run.created_at, detected_at=self.clock.now())
        stored: list[DriftEventRecord] = []
        for event in found:
            record, created = self.events.add(event)
            if created:
                log.info("drift %s on %s (%s) in run %s", event.kind.value, m.target_key, event.metric, m.run_id)
            stored.append(record)
        return stored

    def mark_routes(self, tenant_id: str, project_id: str, events: Sequence[DriftEventRecord]) -> list[str]:
        """Mark stale every current route whose decision (made before the event) rests on evidence of the
        event's suite with a candidate of its provider and model; returns the tasks marked."""
        marked: list[str] = []
        cursor: str | None = None
        while True:
            page = self.decisions.routes.list_partition(scope_key(tenant_id, project_id), cursor=cursor)
            for route in page.items:
                if route.drift_event_id is not None:
                    continue
                try:
                    stored = self.decisions.read(tenant_id, project_id, route.decision_id)
                except TamperedDecision:
                    log.error("decision %s failed its integrity check; not judged for drift", route.decision_id)
                    continue
                if stored is None:
                    continue
                suites = {run.suite_id for run in stored.decision.evidence.runs}
                candidates = {(c.stats.provider, c.stats.model) for c in stored.decision.candidates}
                hit = next(
                    (
                        e
                        for e in events
                        if e.suite_id in suites
                        and (e.provider, e.model) in candidates
                        and route.decided_at <= e.detected_at
                    ),
                    None,
                )
                if hit is not None and self.decisions.mark_drifted(
                    tenant_id, project_id, route.row_key, route.decision_id, hit.event_id
                ):
                    marked.append(route.row_key)
            if page.next_cursor is None:
                return marked
            cursor = page.next_cursor


def judge(
    tenant_id: str, project_id: str, m: Measurement, *, run_created_at: datetime, detected_at: datetime
) -> list[DriftEventRecord]:
    """The drift events of one measurement (not yet stored)."""
    events: list[DriftEventRecord] = []

    def event(metric: str, kind: DriftKind, **values: object) -> DriftEventRecord:
        event_id = drift_event_id(tenant_id, project_id, m.run_id, m.target_key, metric)
        return DriftEventRecord.model_validate(
            {
                "partition_key": scope_key(tenant_id, project_id),
                "row_key": drift_row_key(run_created_at, event_id),
                "event_id": event_id,
                "kind": kind,
                "metric": metric,
                "suite_id": m.suite_id,
                "target_key": m.target_key,
                "provider": m.provider,
                "model": m.model,
                "run_id": m.run_id,
                "run_created_at": run_created_at,
                "detected_at": detected_at,
                "baseline_runs": m.baseline_runs,
                "confidence": CONFIDENCE,
                **values,
            }
        )

    for rule in RULES:
        baseline, new = m.baseline.metric(rule.metric), m.new.metric(rule.metric)
        kind = shift(rule, baseline, new)
        if kind is None or baseline is None or new is None:  # shift() only judges when both exist
            continue
        events.append(
            event(
                rule.metric,
                kind,
                baseline_value=baseline.value,
                baseline_low=baseline.low,
                baseline_high=baseline.high,
                baseline_n=baseline.n,
                new_value=new.value,
                new_low=new.low,
                new_high=new.high,
                new_n=new.n,
            )
        )
    unseen = sorted(set(m.new.model_versions) - set(m.baseline.model_versions))
    if unseen and m.baseline.model_versions:
        events.append(
            event(
                MODEL_VERSION,
                DriftKind.NEW_MODEL_VERSION,
                baseline_n=sum(m.baseline.model_versions.values()),
                new_n=sum(m.new.model_versions[v] for v in unseen),
                new_model_versions=unseen,
            )
        )
    return events
