"""The incremental rollup against Azurite: points from parts, idempotence, the watermark, deletions."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shared.ids import new_id
from shared.lifecycle.messages import DeletionMessage
from shared.lifecycle.scopes import delete_partitions
from shared.runs.models import TargetSpec
from shared.runs.store import shard_partition
from shared.services import Services
from shared.storage import Table
from shared.storage.catalog import RESULTS_TABLE, ROLLUP_PARTS_TABLE, ROLLUPS_TABLE
from shared.trends.aggregate import SKETCH_ACCURACY
from shared.trends.models import RollupPartRecord, series_partition, target_key
from shared.trends.rollup import SETTLE, Rollup
from tests.conftest import MovableClock
from tests.trends.seed import Item, seed_finished_run

FAST = TargetSpec(provider="sandbox", model="sandbox/fast-accurate")
SLOW = TargetSpec(provider="sandbox", model="sandbox/slow", params={"temperature": 0.5})


@pytest.fixture
def project(services: Services) -> tuple[str, str, str]:
    services.ensure_storage()
    return new_id("ten"), new_id("prj"), new_id("ste")


def day(offset: int, hour: int = 10) -> datetime:
    """A moment `offset` days before today (UTC), at `hour`."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=offset) + timedelta(hours=hour, minutes=7)


def items(moment: datetime, scores: list[float], latency: float = 100.0) -> list[tuple[datetime, Item]]:
    return [
        (moment, Item(score=s, passed=s >= 0.5, latency_ms=latency + 3 * i, ttft_ms=10.0 + i))
        for i, s in enumerate(scores)
    ]


def settle(clock: MovableClock) -> None:
    """Let the completions become old enough to roll up."""
    clock.advance(SETTLE + timedelta(seconds=1))


def stored(services: Services, table: str, partition: str) -> dict[str, dict[str, Any]]:
    """Every row of a partition, without service metadata, by RowKey."""
    rows = Table(services.storage, table).query_all("PartitionKey eq @pk", {"pk": partition})
    return {row.row_key: dict(row) for row in rows}


def test_a_run_a_day_gives_a_daily_point_each_with_values_from_the_results(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    first = [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    second = [1.0, 1.0, 0.5, 0.9]
    seed_finished_run(services, tenant, prj, suite, {0: items(day(3), first, 100.0)}, targets=[FAST])
    seed_finished_run(services, tenant, prj, suite, {0: items(day(2), second, 300.0)}, targets=[FAST])
    settle(clock)

    report = services.rollup.run_project(tenant, prj)
    assert (report.runs, report.results_read, report.parts_written) == (2, 10, 2)

    points = services.rollup.series(tenant, prj, suite, "d", day(5), day(0), limit=100)
    assert [p.start for p in points] == [day(3, 0).replace(minute=0), day(2, 0).replace(minute=0)]
    for point, scores, base in zip(points, (first, second), (100.0, 300.0), strict=True):
        aggregate = point.parsed()
        assert point.target_key == target_key(FAST)
        assert (point.provider, point.model, point.runs) == ("sandbox", "sandbox/fast-accurate", 1)
        quality = aggregate.metric("quality")
        assert quality is not None
        assert quality.value == pytest.approx(statistics.fmean(scores))
        assert quality.n == len(scores)
        pass_rate = aggregate.metric("pass_rate")
        assert pass_rate is not None
        assert pass_rate.value == sum(s >= 0.5 for s in scores) / len(scores)
        latencies = [base + 3 * i for i in range(len(scores))]
        p95 = aggregate.metric("latency_p95")
        assert p95 is not None
        assert p95.value == pytest.approx(float(np.percentile(latencies, 95, method="lower")), rel=SKETCH_ACCURACY)
        cost = aggregate.metric("cost_per_case")
        assert cost is not None
        assert cost.value == pytest.approx(0.001)


def test_rolling_up_again_changes_nothing(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    seed_finished_run(
        services, tenant, prj, suite, {0: items(day(3), [0.2, 0.9]), 1: items(day(3, 11), [1.0])}, targets=[FAST, SLOW]
    )
    seed_finished_run(services, tenant, prj, suite, {0: items(day(2), [0.7, 0.8, 0.1])}, targets=[FAST])
    settle(clock)
    services.rollup.run_project(tenant, prj)
    partition = series_partition(tenant, prj, suite)
    points, parts = stored(services, ROLLUPS_TABLE, partition), stored(services, ROLLUP_PARTS_TABLE, partition)
    assert len(points) == 2 * 2 + 2  # FAST: two days (an hour and a day each); SLOW: one hour and its day

    again = services.rollup.run_project(tenant, prj)
    assert (again.completions, again.results_read) == (0, 0)

    # Forget the watermark: every run is rolled a second time, and the rows come out identical.
    Table(services.storage, "rollupwatermarks").delete(f"{tenant}~{prj}", "watermark")
    redo = services.rollup.run_project(tenant, prj)
    assert redo.runs == 2
    assert stored(services, ROLLUPS_TABLE, partition) == points
    assert stored(services, ROLLUP_PARTS_TABLE, partition) == parts

    # A day rebuilt from its parts is the same too, even after its points were lost.
    for key in [k for k in points if k.endswith(day(3).strftime("%Y-%m-%dT10:00Z"))]:
        Table(services.storage, ROLLUPS_TABLE).delete(partition, key)
    services.rollup.recompute_day(tenant, prj, suite, day(3))
    assert stored(services, ROLLUPS_TABLE, partition) == points


def test_the_watermark_keeps_old_results_unread(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    old = seed_finished_run(services, tenant, prj, suite, {0: items(day(2), [1.0] * 20)}, targets=[FAST])
    settle(clock)
    services.rollup.run_project(tenant, prj)
    before = services.rollup.series(tenant, prj, suite, "d", day(2, 0), day(0), limit=10)

    # The old run's results vanish behind the rollup's back: a rollup that re-read them would notice.
    assert delete_partitions(Table(services.storage, RESULTS_TABLE), shard_partition(tenant, prj, old.row_key)) == 20
    seed_finished_run(services, tenant, prj, suite, {0: items(day(1), [0.0] * 5)}, targets=[FAST])
    settle(clock)
    report = services.rollup.run_project(tenant, prj)

    assert (report.completions, report.runs, report.results_read) == (1, 1, 5)
    after = services.rollup.series(tenant, prj, suite, "d", day(2, 0), day(0), limit=10)
    assert after[0].aggregate == before[0].aggregate  # day 2 untouched
    quality = after[1].parsed().metric("quality")
    assert quality is not None
    assert (quality.value, quality.n) == (0.0, 5)


def test_hourly_points_split_a_day_and_merge_into_it(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    rows = items(day(1, 9), [1.0, 1.0, 0.0]) + items(day(1, 13), [0.0])
    seed_finished_run(services, tenant, prj, suite, {0: rows}, targets=[FAST])
    settle(clock)
    services.rollup.run_project(tenant, prj)

    hours = services.rollup.series(tenant, prj, suite, "h", day(1, 0), day(0), target=target_key(FAST), limit=100)
    assert [(p.start.hour, p.parsed().items) for p in hours] == [(9, 3), (13, 1)]
    (daily,) = services.rollup.series(tenant, prj, suite, "d", day(1, 0), day(0), target=target_key(FAST), limit=100)
    assert daily.parsed().items == 4
    assert daily.runs == 1
    pass_rate = daily.parsed().metric("pass_rate")
    assert pass_rate is not None
    assert pass_rate.value == 0.5


def test_only_completed_and_partial_runs_count(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    failed = seed_finished_run(
        services, tenant, prj, suite, {0: items(day(1), [1.0])}, targets=[FAST], failed_shard=True
    )
    partial = seed_finished_run(
        services,
        tenant,
        prj,
        suite,
        {0: items(day(1), [1.0]), 1: items(day(1), [0.5, 0.5])},
        targets=[FAST, SLOW],
        failed_shard=True,
    )
    assert (failed.status, partial.status) == ("failed", "partial")
    settle(clock)
    report = services.rollup.run_project(tenant, prj)

    assert report.results_read == 3  # the partial run's; the failed one is not read at all
    daily = services.rollup.series(tenant, prj, suite, "d", day(1, 0), day(0), limit=100)
    assert sorted((p.target_key, p.parsed().items) for p in daily) == sorted(
        [(target_key(FAST), 1), (target_key(SLOW), 2)]
    )


def test_a_deleted_run_leaves_its_points(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    kept = seed_finished_run(services, tenant, prj, suite, {0: items(day(1, 8), [1.0, 1.0])}, targets=[FAST])
    gone = seed_finished_run(
        services, tenant, prj, suite, {0: items(day(1, 8), [0.0]), 1: items(day(1, 9), [0.0])}, targets=[FAST, SLOW]
    )
    settle(clock)
    services.rollup.run_project(tenant, prj)
    assert len(services.rollup.series(tenant, prj, suite, "h", day(1, 0), day(0), limit=100)) == 2

    # The real cascade: tombstone, run row gone, then the queued purge.
    services.purger.tombstone(tenant, prj, "run", gone.row_key, gone.row_key, "user_seed")
    services.runs.runs.delete(f"{tenant}~{prj}", gone.row_key)
    services.purger.handle(DeletionMessage(tenant_id=tenant, project_id=prj, kind="run", resource_id=gone.row_key))
    settle(clock)
    report = services.rollup.run_project(tenant, prj)

    assert report.parts_deleted == 2
    hours = services.rollup.series(tenant, prj, suite, "h", day(1, 0), day(0), limit=100)
    assert [(p.target_key, p.runs, p.parsed().items) for p in hours] == [(target_key(FAST), 1, 2)]
    daily = services.rollup.series(tenant, prj, suite, "d", day(1, 0), day(0), limit=100)
    assert [(p.target_key, p.parsed().items) for p in daily] == [(target_key(FAST), 2)]
    parts = stored(services, ROLLUP_PARTS_TABLE, series_partition(tenant, prj, suite))
    assert {row["run_id"] for row in parts.values()} == {kept.row_key}


def test_run_all_rolls_every_project_with_news_and_calls_the_hook(
    services: Services, clock: MovableClock, project: tuple[str, str, str]
) -> None:
    tenant, prj, suite = project
    other = new_id("prj")
    seed_finished_run(services, tenant, prj, suite, {0: items(day(1), [1.0])}, targets=[FAST])
    seed_finished_run(services, tenant, other, suite, {0: items(day(1), [0.0, 1.0])}, targets=[FAST])
    seen: list[tuple[str, str, list[RollupPartRecord]]] = []
    rollup = Rollup(services.storage, clock, after_rollup=lambda t, p, parts: seen.append((t, p, parts)))
    fresh = rollup.run_all()
    assert (tenant, prj) not in fresh  # still settling

    settle(clock)
    reports = rollup.run_all()
    assert {key: r.results_read for key, r in reports.items() if key[0] == tenant} == {
        (tenant, prj): 1,
        (tenant, other): 2,
    }
    mine = {(t, p): parts for t, p, parts in seen if t == tenant}
    assert [part.run_id for part in mine[(tenant, other)]] != []
    assert all(part.target_key == target_key(FAST) for part in mine[(tenant, prj)])
