"""What a pack holds, produced lazily so that files stream one after another.

Layout (see docs/pack-schema.md):

- `suites/<suite>/<version>.json`: suite versions, canonical JSON (their SHA-256 is the version id)
- `runs/<run>/run.json`, `runs/<run>/results.jsonl`, `runs/<run>/statistics.json`
- `decisions/<decision>.json`: a route decision document (its evidence runs are under `runs/`)
- `prices.json`: the price table versions the runs used and the project's current table
- `report.html`, then `manifest.json` last

Nothing secret is written: no credential ids or keys, no API keys, only the export's own project.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.exports.zipstream import PackFile
from shared.routing.models import Decision
from shared.runs.models import ResultRecord, RunRecord
from shared.runs.sharding import target_id
from shared.runs.summary import outcome
from shared.services import Services
from shared.stats.summary import ItemOutcome, TargetSummary, summarize_target
from shared.storage import NotFound

# Result rows are written to the zip in blocks of this many lines (one chunk per block).
LINES_PER_BLOCK = 500
# Latency histograms for the report: bins per target (raw timings are not kept after statistics).
HISTOGRAM_BINS = 20


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()


def result_line(row: ResultRecord, output: str | None) -> dict[str, Any]:
    """One results.jsonl line: the public view of a result (storage keys left out)."""
    data = row.model_dump(mode="json", exclude={"partition_key", "row_key", "output_blob"})
    data["output"] = output
    return data


def run_document(run: RunRecord) -> dict[str, Any]:
    """run.json: the run's definition and outcome, without credential references."""
    targets = []
    for index, target in enumerate(run.targets):
        spec = target.model_dump(mode="json", exclude={"credential_id"})
        targets.append({"id": target_id(index), "display": target.display, **spec})
    return {
        "id": run.row_key,
        "suite_id": run.suite_id,
        "suite_version": run.version,
        "targets": targets,
        "trials": run.trials,
        "seed": run.seed,
        "status": run.status.value,
        "status_reason": run.status_reason,
        "item_count": run.item_count,
        "price_version": run.price_version,
        "budget_usd": run.budget_usd,
        "estimate_usd": run.estimate_usd,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


@dataclass
class RunFacts:
    """What the report needs of one run, kept after its results have streamed past."""

    run: RunRecord
    summaries: dict[str, TargetSummary] = field(default_factory=dict)
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0

    @property
    def labels(self) -> dict[str, str]:
        """Target id -> display name."""
        return {target_id(i): t.display for i, t in enumerate(self.run.targets)}


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Equal-width bins over [min, max] of `values` (empty when there are none)."""
    if not values:
        return {"low": None, "high": None, "counts": []}
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return {"low": low, "high": high, "counts": counts}


@dataclass
class PackPlan:
    """The files of one pack and the facts gathered while they stream."""

    services: Services
    tenant_id: str
    project_id: str
    runs: list[RunFacts] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    suite_versions: set[tuple[str, str]] = field(default_factory=set)
    price_versions: set[str] = field(default_factory=set)

    def suite_file(self, suite_id: str, version: str) -> PackFile | None:
        """A suite version's canonical bytes, once per pack; None when it is no longer stored."""
        if (suite_id, version) in self.suite_versions:
            return None
        try:
            data = self.services.suites.get_version_bytes(self.tenant_id, self.project_id, suite_id, version)
        except NotFound:
            return None  # a deleted suite: the run's results still stand, the pack says which version
        self.suite_versions.add((suite_id, version))
        return PackFile(f"suites/{suite_id}/{version}.json", "application/json", lambda: [data])

    def run_files(self, run: RunRecord) -> Iterator[PackFile]:
        """run.json, results.jsonl (streamed page by page) and statistics.json of one run."""
        facts = RunFacts(run)
        self.runs.append(facts)
        self.price_versions.add(run.price_version)
        suite = self.suite_file(run.suite_id, run.version)
        if suite is not None:
            yield suite
        base = f"runs/{run.row_key}"
        outcomes: dict[str, list[ItemOutcome]] = defaultdict(list)
        yield PackFile(f"{base}/run.json", "application/json", lambda: [_json(run_document(run))])
        yield PackFile(f"{base}/results.jsonl", "application/x-ndjson", lambda: self._results(facts, outcomes))
        yield PackFile(f"{base}/statistics.json", "application/json", lambda: [self._statistics(facts, outcomes)])

    def _results(self, facts: RunFacts, outcomes: dict[str, list[ItemOutcome]]) -> Iterator[bytes]:
        block: list[bytes] = []
        run = facts.run
        for row in self.services.results.all_of_run(self.tenant_id, self.project_id, run.row_key):
            output = self.services.results.read_output(row) if row.output_blob else row.output
            block.append(json.dumps(result_line(row, output), sort_keys=True).encode() + b"\n")
            outcomes[row.target_id].append(outcome(row))
            facts.lines += 1
            if len(block) >= LINES_PER_BLOCK:
                yield b"".join(block)
                block.clear()
        if block:
            yield b"".join(block)

    def _statistics(self, facts: RunFacts, outcomes: dict[str, list[ItemOutcome]]) -> bytes:
        # The same computation as GET .../runs/{run}/summary, so the pack and the API agree.
        run = facts.run
        for index in range(len(run.targets)):
            key = target_id(index)
            items = outcomes.pop(key, [])
            facts.summaries[key] = summarize_target(items, seed=run.seed)
            facts.histograms[key] = histogram([i.latency_ms for i in items if i.latency_ms is not None])
        document = {
            "run_id": run.row_key,
            "labels": facts.labels,
            "targets": {key: summary.model_dump(mode="json") for key, summary in facts.summaries.items()},
            "latency_histograms": facts.histograms,
        }
        return _json(document)

    def decision_files(self, decision: Decision) -> Iterator[PackFile]:
        """The decision document and every evidence run still stored."""
        self.decisions.append(decision)
        data = _json(decision.model_dump(mode="json"))
        yield PackFile(f"decisions/{decision.decision_id}.json", "application/json", lambda: [data])
        for evidence in decision.evidence.runs:
            run = self.services.runs.find(self.tenant_id, self.project_id, evidence.run_id)
            if run is not None and run.row_key not in {f.run.row_key for f in self.runs}:
                yield from self.run_files(run)

    def suite_versions_of(self, suite_id: str) -> Iterator[PackFile]:
        """Every version of one suite."""
        for version in _pages(
            lambda cursor: self.services.suites.list_versions(
                self.tenant_id, self.project_id, suite_id, limit=100, cursor=cursor
            )
        ):
            file = self.suite_file(suite_id, version.row_key)
            if file is not None:
                yield file

    def prices_file(self) -> PackFile:
        """The price versions used and the project's table today (shipped prices and overrides)."""

        def chunks() -> Iterable[bytes]:
            table = self.services.prices(self.tenant_id, self.project_id)
            return [_json({"versions_used": sorted(self.price_versions), "table": table.model_dump(mode="json")})]

        return PackFile("prices.json", "application/json", chunks)


def _pages(read: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every item of a paged listing."""
    cursor: str | None = None
    while True:
        page = read(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
