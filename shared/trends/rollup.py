"""The incremental rollup: new run completions -> parts -> hourly and daily points.

`Rollup.run_project` reads the project's watermark in `rollupwatermarks`, then the completions
written after it (only those older than SETTLE, so a completion whose run row is still being
updated is never judged early). For each run it reads the results once (one range query over the
run's shard partitions, selecting only the fields an `Aggregate` needs), builds one part per
target x hour (by each result's `completed_at`), writes them and deletes whatever parts the run's
previous rollup wrote that it no longer has (a run rolled again after retry-errors, or deleted).
Then it recomputes the affected points from parts: the target's parts of each affected day are
read with one RowKey range query and merged per hour and for the day. Last, the watermark moves
(under its ETag) and the `after_rollup` hook sees the new parts.

Work grows with the new results and the days they touch, never with history. Everything is keyed
by run, so a crash midway, a second rollup of the same completions, or `recompute_day` give the same
rows again.

What counts: completed and partial runs (every stored result, errors included, so the error rate
is honest). Failed and cancelled runs are left out: a run stopped on purpose or by a fault measures
the incident, not the model. A deleted run's parts are removed through the completion the run
cascade writes, and its points are recomputed on the next rollup. Retention, which deletes results
but keeps runs, leaves parts and points alone: they hold statistics only, and trends outlive raw
results on purpose.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from shared.clock import Clock
from shared.runs.models import ResultRecord, RunRecord, RunStatus
from shared.runs.sharding import target_id
from shared.runs.store import shard_partition
from shared.storage import ConcurrencyError, Conflict, ModelTable, StorageAccount, Table, where
from shared.storage.catalog import (
    RESULTS_TABLE,
    ROLLUP_PARTS_TABLE,
    ROLLUP_WATERMARKS_TABLE,
    ROLLUPS_TABLE,
    RUN_COMPLETIONS_TABLE,
    RUNS_TABLE,
)
from shared.storage.models import from_entity
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.records import scope_key
from shared.trends.aggregate import RESULT_FIELDS, Aggregate
from shared.trends.models import (
    RUN_ROW_PREFIX,
    WATERMARK_ROW,
    Granularity,
    RolledRunRecord,
    RollupPartRecord,
    RollupPointRecord,
    RollupWatermarkRecord,
    RunCompletionRecord,
    bucket_start,
    bucket_text,
    completion_row_key,
    day_start,
    hour_start,
    part_row_key,
    point_row_key,
    series_partition,
    target_key,
)
from shared.trends.work import RollupWork

log = logging.getLogger("tokenroute.trends")

# A completion younger than this waits for the next rollup: it is written just before its run row.
SETTLE: Final = timedelta(minutes=2)
# `run_all` looks for projects with completions this recent; an outage longer than this needs a
# `run_project` per project (its watermark still makes that incremental).
LOOKBACK: Final = timedelta(days=7)
# Completions one `run_project` takes at most; the rest wait for the next one.
MAX_COMPLETIONS: Final = 500
COUNTED_STATUSES: Final = frozenset({RunStatus.COMPLETED, RunStatus.PARTIAL})


class AfterRollup(Protocol):
    """Called once per project rollup with the parts it wrote (drift detection hangs here)."""

    def __call__(self, tenant_id: str, project_id: str, new_parts: list[RollupPartRecord]) -> None:
        """React to new parts (they are stored, and their points recomputed, before the call)."""
        ...


def no_hook(tenant_id: str, project_id: str, new_parts: list[RollupPartRecord]) -> None:
    """The default `AfterRollup`: nothing."""


@dataclass
class ProjectRollup:
    """What one project's rollup did."""

    completions: int = 0
    runs: int = 0
    results_read: int = 0
    parts_written: int = 0
    parts_deleted: int = 0
    points_written: int = 0
    points_deleted: int = 0
    new_parts: list[RollupPartRecord] = field(default_factory=list)


@dataclass(frozen=True)
class _Bucket:
    """A target's day in a suite: the unit points are recomputed in."""

    suite_id: str
    target_key: str
    day: datetime


class Rollup:
    """Rolls a project's newly finished runs into its trend series."""

    def __init__(self, account: StorageAccount, clock: Clock, after_rollup: AfterRollup = no_hook) -> None:
        self.completions = ModelTable(account, RUN_COMPLETIONS_TABLE, RunCompletionRecord)
        self.watermarks = ModelTable(account, ROLLUP_WATERMARKS_TABLE, RollupWatermarkRecord)
        self.rolled = ModelTable(account, ROLLUP_WATERMARKS_TABLE, RolledRunRecord)
        self.parts = ModelTable(account, ROLLUP_PARTS_TABLE, RollupPartRecord)
        self.points = ModelTable(account, ROLLUPS_TABLE, RollupPointRecord)
        self.runs = ModelTable(account, RUNS_TABLE, RunRecord)
        self.results = Table(account, RESULTS_TABLE)
        self.work = RollupWork(account)
        self.clock = clock
        self.after_rollup = after_rollup

    def ensure(self) -> None:
        """Create the tables (idempotent; runs and results belong to their stores)."""
        for table in (self.completions, self.watermarks, self.parts, self.points):
            table.ensure()
        self.work.ensure()

    # -- the feed ---------------------------------------------------------------------------------

    def record_deletion(self, tenant_id: str, project_id: str, run_id: str) -> None:
        """Tell the next rollup that a run is gone (the run cascade calls this), so its parts go too."""
        now = self.clock.now()
        self.work.mark(tenant_id, project_id, now)  # before the completion (see shared.trends.work)
        record = RunCompletionRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=completion_row_key(now, run_id),
            run_id=run_id,
            deleted=True,
            finished_at=now,
        )
        with contextlib.suppress(Conflict):  # a retried cascade step: the row is there
            self.completions.insert(record)

    # -- jobs -------------------------------------------------------------------------------------

    def run_all(self) -> dict[tuple[str, str], ProjectRollup]:
        """Roll up every project with recent completions; returns what each rollup did."""
        since = self.clock.now() - LOOKBACK
        # The one read across tenants: a system job's to-do list, a range of recent hours.
        projects = self.work.projects_since(since)
        self.work.expire(since)
        reports: dict[tuple[str, str], ProjectRollup] = {}
        for tenant_id, project_id in projects:
            try:
                report = self.run_project(tenant_id, project_id)
            except Exception:
                # One project's failure must not hold back the others; its watermark did not move.
                log.exception("rollup failed for a project")
                continue
            if report.completions:
                reports[(tenant_id, project_id)] = report
        return reports

    def run_project(self, tenant_id: str, project_id: str) -> ProjectRollup:
        """Roll up the project's completions after its watermark (see the module docstring)."""
        scope = scope_key(tenant_id, project_id)
        watermark = self.watermarks.find(scope, WATERMARK_ROW)
        after = watermark.after if watermark is not None else ""
        until = completion_row_key(self.clock.now() - SETTLE, "")
        # A backlog (the timer was down) is worked off MAX_COMPLETIONS at a time, one invocation each.
        completions = list(itertools.islice(self._completions(scope, after, until), MAX_COMPLETIONS))
        report = ProjectRollup(completions=len(completions))
        if not completions:
            return report
        # A run may have several completions (retry-errors, a lost ETag race): roll it once.
        latest = {completion.run_id: completion for completion in completions}
        touched: set[_Bucket] = set()
        for run_id, completion in latest.items():
            touched |= self._roll_run(tenant_id, project_id, run_id, completion, report)
        for bucket in sorted(touched, key=lambda b: (b.suite_id, b.target_key, b.day)):
            self._recompute(tenant_id, project_id, bucket, report)
        self._advance(scope, watermark, completions[-1].row_key)
        self.after_rollup(tenant_id, project_id, report.new_parts)
        return report

    def recompute_day(self, tenant_id: str, project_id: str, suite_id: str, day: datetime) -> ProjectRollup:
        """Rebuild every target's hourly and daily points of `day` from the stored parts."""
        start = day_start(day)
        query = where(
            "PartitionKey eq @pk and hour ge @start and hour lt @end",
            pk=series_partition(tenant_id, project_id, suite_id),
            start=start,
            end=start + timedelta(days=1),
        )
        keys = {entity["target_key"] for entity in self.parts.table.query_all(query, select=["target_key"])}
        # Targets with points but no parts left (every run of the day deleted) are recomputed too.
        point_query = where(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and start eq @start",
            pk=series_partition(tenant_id, project_id, suite_id),
            low="d~",
            high=next_code_point_prefix("d~"),
            start=start,
        )
        keys |= {entity["target_key"] for entity in self.points.table.query_all(point_query, select=["target_key"])}
        report = ProjectRollup()
        for key in sorted(keys):
            self._recompute(tenant_id, project_id, _Bucket(suite_id, key, start), report)
        return report

    # -- reading ----------------------------------------------------------------------------------

    def series(
        self,
        tenant_id: str,
        project_id: str,
        suite_id: str,
        granularity: Granularity,
        start: datetime,
        end: datetime,
        *,
        target: str | None = None,
        limit: int,
    ) -> list[RollupPointRecord]:
        """Points of buckets starting in [start, end), in (target key, start) order; at most `limit` + 1
        (one more than `limit` tells the caller the answer was cut)."""
        partition = series_partition(tenant_id, project_id, suite_id)
        if target is not None:
            query = where(
                "PartitionKey eq @pk and RowKey ge @low and RowKey le @high and start lt @end",
                pk=partition,
                low=point_row_key(granularity, target, bucket_start(start, granularity)),
                high=point_row_key(granularity, target, end),
                end=end,
            )
        else:
            query = where(
                "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and start ge @start and start lt @end",
                pk=partition,
                low=f"{granularity}~",
                high=next_code_point_prefix(f"{granularity}~"),
                start=bucket_start(start, granularity),
                end=end,
            )
        points: list[RollupPointRecord] = []
        cursor: str | None = None
        while len(points) <= limit:
            page = self.points.query(query, page_size=1000, cursor=cursor)
            points.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return points[: limit + 1]

    # -- steps ------------------------------------------------------------------------------------

    def _completions(self, scope: str, after: str, until: str) -> Iterator[RunCompletionRecord]:
        query = where(
            "PartitionKey eq @pk and RowKey gt @after and RowKey lt @until", pk=scope, after=after, until=until
        )
        cursor: str | None = None
        while True:
            page = self.completions.query(query, page_size=1000, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _roll_run(
        self, tenant_id: str, project_id: str, run_id: str, completion: RunCompletionRecord, report: ProjectRollup
    ) -> set[_Bucket]:
        """Replace the run's parts with what its results say now; returns the buckets to recompute."""
        scope = scope_key(tenant_id, project_id)
        run = None if completion.deleted else self.runs.find(scope, run_id)
        if run is not None and not run.status.terminal:
            return set()  # reopened (retry-errors) or not yet recorded: its next completion rolls it
        previous = self.rolled.find(scope, RUN_ROW_PREFIX + run_id)
        suite_id = run.suite_id if run is not None else previous.suite_id if previous is not None else None
        if suite_id is None:
            return set()  # never rolled, and nothing to roll
        partition = series_partition(tenant_id, project_id, suite_id)
        parts: list[RollupPartRecord] = []
        if run is not None and run.status in COUNTED_STATUSES:
            parts = self._parts_of(tenant_id, project_id, run, report)
        report.runs += 1
        new_keys = {part.row_key for part in parts}
        stale = [key for key in (previous.parts if previous is not None else []) if key not in new_keys]
        if parts:
            self.parts.upsert_many(parts)
            report.parts_written += len(parts)
            report.new_parts.extend(parts)
        if stale:
            self.parts.table.write_batch(("delete", {"PartitionKey": partition, "RowKey": key}) for key in stale)
            report.parts_deleted += len(stale)
        if parts:
            self.rolled.upsert(
                RolledRunRecord(
                    partition_key=scope, row_key=RUN_ROW_PREFIX + run_id, suite_id=suite_id, parts=sorted(new_keys)
                )
            )
        elif previous is not None:
            self.rolled.delete(scope, RUN_ROW_PREFIX + run_id)
        touched = {_Bucket(suite_id, part.target_key, day_start(part.hour)) for part in parts}
        for key in stale:
            key_of_target, hour_text, _ = key.split("~")
            touched.add(_Bucket(suite_id, key_of_target, day_start(datetime.fromisoformat(hour_text))))
        return touched

    def _parts_of(
        self, tenant_id: str, project_id: str, run: RunRecord, report: ProjectRollup
    ) -> list[RollupPartRecord]:
        """One part per target x hour of the run's results, read once with only the needed fields."""
        prefix = shard_partition(tenant_id, project_id, run.row_key) + "~"
        query = where("PartitionKey ge @low and PartitionKey lt @high", low=prefix, high=next_code_point_prefix(prefix))
        cells: dict[tuple[str, datetime], Aggregate] = defaultdict(Aggregate)
        for entity in self.results.query_all(query, select=RESULT_FIELDS):
            # None of the selected fields is JSON text: say so, rather than have every row work it out.
            row = from_entity(ResultRecord, entity, json_fields=frozenset())
            cells[(row.target_id, hour_start(row.completed_at))].add(row)
            report.results_read += 1
        targets = {target_id(index): target for index, target in enumerate(run.targets)}
        parts: list[RollupPartRecord] = []
        for (tid, hour), aggregate in sorted(cells.items()):
            target = targets.get(tid)
            if target is None:
                continue  # a result of a target the run does not list: nothing to attribute it to
            key = target_key(target)
            parts.append(
                RollupPartRecord(
                    partition_key=series_partition(tenant_id, project_id, run.suite_id),
                    row_key=part_row_key(key, hour, run.row_key),
                    suite_id=run.suite_id,
                    version=run.version,
                    run_id=run.row_key,
                    target_key=key,
                    provider=target.provider,
                    model=target.model,
                    hour=hour,
                    aggregate=aggregate.to_json(),
                )
            )
        return parts

    def _recompute(self, tenant_id: str, project_id: str, bucket: _Bucket, report: ProjectRollup) -> None:
        """Rebuild the hourly points and the daily point of one target's day from its parts."""
        partition = series_partition(tenant_id, project_id, bucket.suite_id)
        day_prefix = f"{bucket.target_key}~{bucket_text(bucket.day)[:11]}"
        parts = list(self._prefix(partition, day_prefix))
        by_hour: dict[datetime, list[RollupPartRecord]] = defaultdict(list)
        for part in parts:
            by_hour[part.hour].append(part)
        wanted = [self._point(partition, "h", hour, group) for hour, group in sorted(by_hour.items())]
        if parts:
            wanted.append(self._point(partition, "d", bucket.day, parts))
        # Points of the day that no part supports any more (every run of the hour or day deleted) go.
        hours_prefix = point_row_key("h", bucket.target_key, bucket.day)[: -len("00:00Z")]
        existing = {
            entity.row_key
            for entity in self.points.table.query_all(
                where(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                    pk=partition,
                    low=hours_prefix,
                    high=next_code_point_prefix(hours_prefix),
                ),
                select=["PartitionKey", "RowKey"],
            )
        }
        daily = point_row_key("d", bucket.target_key, bucket.day)
        if not parts and self.points.table.find(partition, daily, select=["RowKey"]) is not None:
            existing.add(daily)
        gone = sorted(existing - {point.row_key for point in wanted})
        if wanted:
            self.points.upsert_many(wanted)
            report.points_written += len(wanted)
        if gone:
            self.points.table.write_batch(("delete", {"PartitionKey": partition, "RowKey": key}) for key in gone)
            report.points_deleted += len(gone)

    def _point(
        self, partition: str, granularity: Granularity, start: datetime, parts: list[RollupPartRecord]
    ) -> RollupPointRecord:
        first = parts[0]
        aggregate = Aggregate.merged(part.parsed() for part in sorted(parts, key=lambda p: p.row_key))
        return RollupPointRecord(
            partition_key=partition,
            row_key=point_row_key(granularity, first.target_key, start),
            suite_id=first.suite_id,
            granularity=granularity,
            target_key=first.target_key,
            provider=first.provider,
            model=first.model,
            start=start,
            runs=len({part.run_id for part in parts}),
            aggregate=aggregate.to_json(),
        )

    def _prefix(self, partition: str, prefix: str) -> Iterable[RollupPartRecord]:
        cursor: str | None = None
        while True:
            page = self.parts.list_prefix(partition, prefix, page_size=1000, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _advance(self, scope: str, watermark: RollupWatermarkRecord | None, after: str) -> None:
        """Move the watermark; a concurrent rollup that moved it first wins (both wrote the same rows)."""
        record = RollupWatermarkRecord(
            partition_key=scope, row_key=WATERMARK_ROW, after=after, updated_at=self.clock.now()
        )
        try:
            if watermark is None:
                self.watermarks.insert(record)
            elif after > watermark.after:
                self.watermarks.update(record, etag=watermark.etag or "*")
        except (Conflict, ConcurrencyError):
            log.info("another rollup moved the watermark first")
