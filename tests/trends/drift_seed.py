"""Runs for drift tests: seeded straight into the stores, one a day, and rolled up as the timer would."""

from __future__ import annotations

from datetime import timedelta

from shared.runs.models import RunRecord
from shared.services import Services
from shared.tenancy.records import scope_key
from shared.trends.models import RunCompletionRecord, completion_row_key
from shared.trends.rollup import SETTLE, ProjectRollup
from tests.conftest import MovableClock
from tests.routing.seed import SeedTarget, seed_run


def roll_up(services: Services, clock: MovableClock, tenant_id: str, project_id: str, run: RunRecord) -> ProjectRollup:
    """Record the run's completion (what `RunStore.finish_if_done` writes), wait it out, and roll up."""
    assert run.finished_at is not None
    services.rollup.completions.upsert(
        RunCompletionRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=completion_row_key(clock.now(), run.row_key),
            run_id=run.row_key,
            suite_id=run.suite_id,
            status=run.status,
            finished_at=run.finished_at,
        )
    )
    clock.advance(SETTLE + timedelta(minutes=1))
    return services.rollup.run_project(tenant_id, project_id)


def daily_runs(
    services: Services,
    clock: MovableClock,
    tenant_id: str,
    project_id: str,
    suite_id: str,
    targets_per_day: list[list[SeedTarget]],
) -> list[RunRecord]:
    """One run a day of the suite (each day's targets), each rolled up; returns the runs."""
    runs = []
    for targets in targets_per_day:
        run = seed_run(services, tenant_id, project_id, targets, suite_id=suite_id)
        roll_up(services, clock, tenant_id, project_id, run)
        runs.append(run)
        clock.advance(timedelta(days=1))
    return runs
