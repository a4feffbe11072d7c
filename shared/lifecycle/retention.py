"""Retention: a project's `retention_days` bounds how long run results and outputs are kept.

The daily timer calls `RetentionSweeper.sweep_all`. For each project with a period, every run
created before `now - retention_days` loses its result rows and output blobs (the run row and its
shard rows stay: they hold counts and costs, no model output). Runs that a live route decision
cites are kept for as long as it cites them (`shared.lifecycle.citations`). Exports created before
the cutoff lose their packs (`shared.exports.expiry`; the export row stays, `expired`). Each project
with something deleted gets a `retention.applied` audit entry with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from shared.clock import Clock
from shared.exports.expiry import expire_created_before
from shared.exports.store import ExportStore
from shared.lifecycle.cascade import SYSTEM_ACTOR
from shared.lifecycle.citations import CitedRuns
from shared.lifecycle.scopes import delete_blobs, delete_partitions, project_partition
from shared.storage import BlobContainer, StorageAccount, Table, where
from shared.storage.catalog import OUTPUTS_CONTAINER, PROJECTS_TABLE, RESULTS_TABLE, RUNS_TABLE
from shared.tenancy.audit import AuditLog


@dataclass
class RetentionCounts:
    """What one sweep of one project deleted."""

    runs: list[str] = field(default_factory=list)
    results: int = 0
    outputs: int = 0
    kept_cited: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)


class RetentionSweeper:
    """Deletes results and outputs of runs older than their project's retention period."""

    def __init__(self, account: StorageAccount, audit: AuditLog, clock: Clock, cited: CitedRuns) -> None:
        self.projects = Table(account, PROJECTS_TABLE)
        self.runs = Table(account, RUNS_TABLE)
        self.results = Table(account, RESULTS_TABLE)
        self.outputs = BlobContainer(account, OUTPUTS_CONTAINER)
        self.exports = ExportStore(account, clock)
        self.audit = audit
        self.clock = clock
        self.cited = cited

    def sweep_all(self) -> dict[tuple[str, str], RetentionCounts]:
        """Sweep every project that has a retention period; returns the counts per (tenant, project)."""
        # The one query across tenants: a system job reading a setting, not anyone's data.
        with_period = self.projects.query_all(
            where("retention_days gt @zero", zero=0), select=["PartitionKey", "RowKey", "retention_days"]
        )
        return {
            (project.partition_key, project.row_key): self.sweep_project(
                project.partition_key, project.row_key, int(project["retention_days"])
            )
            for project in with_period
        }

    def sweep_project(self, tenant_id: str, project_id: str, retention_days: int) -> RetentionCounts:
        """Delete what is older than the period in one project; audit it when anything went."""
        cutoff = self.clock.now() - timedelta(days=retention_days)
        old_runs = self.runs.query_all(
            where(
                "PartitionKey eq @pk and created_at lt @cutoff",
                pk=project_partition(tenant_id, project_id),
                cutoff=cutoff,
            ),
            select=["RowKey"],
        )
        cited = self.cited(tenant_id, project_id)
        counts = RetentionCounts()
        for run in old_runs:
            run_id = run.row_key
            if run_id in cited:
                counts.kept_cited.append(run_id)
                continue
            results = delete_partitions(self.results, f"{project_partition(tenant_id, project_id)}~{run_id}")
            outputs = delete_blobs(self.outputs, tenant_id, project_id, run_id)
            if results or outputs:
                counts.runs.append(run_id)
                counts.results += results
                counts.outputs += outputs
        expired = expire_created_before(self.exports, self.audit, tenant_id, project_id, cutoff)
        counts.exports = [done.export_id for done in expired]
        if counts.runs or counts.exports:
            self.audit.record(
                tenant_id,
                project_id,
                SYSTEM_ACTOR,
                "retention.applied",
                "project",
                project_id,
                {
                    "retention_days": retention_days,
                    "cutoff": cutoff.isoformat(),
                    "runs": counts.runs,
                    "results": counts.results,
                    "outputs": counts.outputs,
                    "kept_cited": counts.kept_cited,
                    "exports": counts.exports,
                },
            )
        return counts
