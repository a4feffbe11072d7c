"""The rollup's to-do list (`rollupwork`): what the timer reads instead of scanning the feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.ids import new_id
from shared.runs.models import TargetSpec
from shared.services import Services
from shared.storage import Table, where
from shared.storage.catalog import ROLLUP_WORK_TABLE
from shared.trends.rollup import LOOKBACK, SETTLE
from shared.trends.work import RollupWork, work_partition
from tests.conftest import MovableClock
from tests.trends.seed import Item, seed_finished_run

FAST = TargetSpec(provider="sandbox", model="sandbox/fast-accurate")


def rows_of(services: Services, tenant: str) -> set[tuple[str, str]]:
    """(hour, project) of every to-do row of the tenant."""
    prefix = tenant + "~"
    query = where("RowKey ge @low and RowKey lt @high", low=prefix, high=tenant + "\x7f")
    entities = Table(services.storage, ROLLUP_WORK_TABLE).query_all(query)
    return {(e.partition_key, e.row_key.removeprefix(prefix)) for e in entities}


def test_recent_hours_are_listed_once_and_older_ones_expire(services: Services) -> None:
    services.ensure_storage()
    work, tenant = RollupWork(services.storage), new_id("ten")
    quiet, busy = new_id("prj"), new_id("prj")
    now = datetime.now(UTC)
    work.mark(tenant, quiet, now - LOOKBACK - timedelta(hours=2))
    work.mark(tenant, busy, now - timedelta(hours=1))
    work.mark(tenant, busy, now)
    work.mark(tenant, busy, now)  # a retried mark: the same row

    assert rows_of(services, tenant) == {
        (work_partition(now - LOOKBACK - timedelta(hours=2)), quiet),
        (work_partition(now - timedelta(hours=1)), busy),
        (work_partition(now), busy),
    }
    listed = [key for key in work.projects_since(now - LOOKBACK) if key[0] == tenant]
    assert listed == [(tenant, busy)]

    assert work.expire(now - LOOKBACK) >= 1
    assert rows_of(services, tenant) == {(work_partition(now - timedelta(hours=1)), busy), (work_partition(now), busy)}


def test_run_all_finds_projects_through_the_list_not_the_feed(services: Services, clock: MovableClock) -> None:
    services.ensure_storage()
    tenant, suite = new_id("ten"), new_id("ste")
    listed, unlisted = new_id("prj"), new_id("prj")
    at = datetime.now(UTC) - timedelta(hours=3)
    item = [(at, Item(score=1.0, passed=True, latency_ms=100.0, ttft_ms=10.0))]
    seed_finished_run(services, tenant, listed, suite, {0: item}, targets=[FAST])
    seed_finished_run(services, tenant, unlisted, suite, {0: item}, targets=[FAST])
    # Finishing a run put its project on the list; take one off to see which source run_all uses.
    assert {project for _, project in rows_of(services, tenant)} == {listed, unlisted}
    assert services.rollup.work.forget_project(tenant, unlisted) == 1
    clock.advance(SETTLE + timedelta(seconds=1))

    reports = services.rollup.run_all()
    assert [key for key in reports if key[0] == tenant] == [(tenant, listed)]
    # The feed itself is intact: the project's own rollup still finds its run.
    assert services.rollup.run_project(tenant, unlisted).runs == 1


def test_a_cascade_forgets_its_projects_rows_only(services: Services) -> None:
    services.ensure_storage()
    work, tenant, other = RollupWork(services.storage), new_id("ten"), new_id("ten")
    first, second, kept = new_id("prj"), new_id("prj"), new_id("prj")
    now = datetime.now(UTC)
    for project in (first, second):
        work.mark(tenant, project, now)
        work.mark(tenant, project, now - timedelta(hours=5))
    work.mark(other, kept, now)

    assert work.forget_project(tenant, first) == 2
    assert {project for _, project in rows_of(services, tenant)} == {second}
    assert work.forget_tenant(tenant) == 2
    assert rows_of(services, tenant) == set()
    assert rows_of(services, other) == {(work_partition(now), kept)}
