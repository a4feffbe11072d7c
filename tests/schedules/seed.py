"""A project with a suite version and schedules on it, written through the real stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from shared.ids import new_id
from shared.runs.models import RunRecord, RunStatus, TargetSpec
from shared.schedules.models import FiringRecord, ScheduleCreate, ScheduleRecord
from shared.services import Services
from shared.suites.models import Case, SuiteContent
from tests.conftest import MovableClock

SANDBOX = TargetSpec(provider="sandbox", model="sandbox/fast-accurate")


@dataclass(frozen=True)
class Project:
    """A tenant's project with one suite version to schedule."""

    tenant_id: str
    project_id: str
    suite_id: str
    version: str


def new_project(services: Services) -> Project:
    """A fresh tenant id, a project in it, and a suite with a two-case version (tables created first)."""
    services.ensure_storage()
    tenant_id = new_id("ten")
    project = services.projects.create(tenant_id, "scheduled", "user_seed")
    suite = services.suites.create_suite(tenant_id, project.row_key, "arithmetic", None, "user_seed")
    content = SuiteContent(
        cases=[Case(id="a", template="2+2?", expected="4"), Case(id="b", template="3*3?", expected="9")]
    )
    version, _ = services.suites.add_version(tenant_id, project.row_key, suite.row_key, content, "user_seed")
    return Project(tenant_id, project.row_key, suite.row_key, version.row_key)


def new_schedule(
    services: Services, project: Project, *, cron: str = "0 0 * * * *", budget: str = "5.00", paused: bool = False
) -> ScheduleRecord:
    """An hourly (by default) schedule of the project's suite version against a sandbox model."""
    request = ScheduleCreate(
        suite_id=project.suite_id,
        version=project.version,
        targets=[SANDBOX],
        budget_usd=Decimal(budget),
        cron=cron,
        paused=paused,
    )
    return services.schedules.create(project.tenant_id, project.project_id, request, "user_seed")


def runs_of(services: Services, project: Project, schedule_id: str) -> list[RunRecord]:
    """The runs the schedule started, read from the runs table."""
    page = services.runs.list_runs(project.tenant_id, project.project_id, limit=1000, cursor=None)
    return [run for run in page.items if run.schedule_id == schedule_id]


def firings_of(services: Services, project: Project, schedule_id: str) -> list[FiringRecord]:
    """The schedule's firing rows, oldest due time first."""
    return services.schedules.firings_of(project.tenant_id, project.project_id, schedule_id)


def reload(services: Services, project: Project, schedule_id: str) -> ScheduleRecord:
    """The schedule as stored now."""
    record = services.schedules.find(project.tenant_id, project.project_id, schedule_id)
    assert record is not None
    return record


def move_past(clock: MovableClock, schedule: ScheduleRecord, seconds: int = 5) -> None:
    """Move the clock a few seconds past the schedule's next due time."""
    clock.current = schedule.next_due_at + timedelta(seconds=seconds)


def finish(services: Services, run: RunRecord) -> None:
    """Mark the run completed, as its last shard would."""
    services.runs.runs.upsert(run.model_copy(update={"status": RunStatus.COMPLETED, "finished_at": run.created_at}))
