"""Trend rollups as stored: run completions (the feed), parts, points and the watermark.

Contract (other modules read these rows; change it only with them):

- Target key: "the same target" across runs, `<provider>.<model slug>.<hash>`, e.g.
  `sandbox.sandbox_fast-accurate.1f0c3a9e5b7d2c48`. The hash is the first 16 hex digits of the SHA-256
  of the canonical JSON of provider, model, the sampling params that differ from their defaults and,
  for `sandbox` targets, the simulation parameters. The label, credential and streaming flag are
  cosmetic or operational and left out, so relabelling a target or rotating its key keeps its
  series. The slug (model lowercased, anything outside `[a-z0-9._-]` replaced by `_`, at most 60
  characters) only makes the key readable: the hash alone tells targets apart. Keys are valid in
  Table keys and in query strings; the trends API takes one as `target=`.
- `runcompletions` (`RunCompletionRecord`): PK `<tenant>~<project>`, RK `<finished_at>~<run id>`
  (`finished_at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so RowKeys sort by time). One row each time a run
  reaches a terminal status (written before the run row, see `RunStore.finish_if_done`), and one
  when a run is deleted (the run cascade), so the rollup drops its parts.
- `rollupparts` (`RollupPartRecord`): PK `<tenant>~<project>~<suite>`, RK
  `<target key>~<hour>~<run id>`: one run x target x hour (by each result's `completed_at`).
- `rollups` (`RollupPointRecord`): PK `<tenant>~<project>~<suite>`, RK
  `<h|d>~<target key>~<bucket start>`: the merge of every part of the hour (h), or of every hourly
  point of the day (d).
- `rollupwatermarks`: PK `<tenant>~<project>`; RK `watermark` (`RollupWatermarkRecord`: the last
  completion RowKey rolled up) and RK `run~<run id>` (`RolledRunRecord`: the part RowKeys a run
  produced, so a run rolled again or deleted replaces exactly its own parts).

Bucket starts (`hour` / `start`) are aware UTC datetimes; in keys they read `YYYY-MM-DDTHH:MMZ`.
Every aggregate is `Aggregate.to_json()` text (see `shared.trends.aggregate`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pydantic import Field

from shared.runs.models import RunStatus, TargetSpec
from shared.storage import TableModel
from shared.tenancy.records import scope_key
from shared.trends.aggregate import Aggregate

Granularity = Literal["h", "d"]
WATERMARK_ROW: Final = "watermark"
RUN_ROW_PREFIX: Final = "run~"
_SLUG_OUTSIDE = re.compile(r"[^a-z0-9._-]+")
MAX_SLUG_CHARS: Final = 60


def target_key(target: TargetSpec) -> str:
    """The key of `target` across runs (see the module docstring)."""
    identity = {
        "provider": target.provider,
        "model": target.model,
        "params": target.params.model_dump(mode="json", exclude_defaults=True),
    }
    if target.provider == "sandbox" and target.sandbox:
        identity["sandbox"] = target.sandbox
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    slug = _SLUG_OUTSIDE.sub("_", target.model.lower())[:MAX_SLUG_CHARS].strip("_") or "model"
    return f"{target.provider}.{slug}.{digest}"


def series_partition(tenant_id: str, project_id: str, suite_id: str) -> str:
    """The partition of a suite's parts and points."""
    return f"{scope_key(tenant_id, project_id)}~{suite_id}"


def bucket_text(start: datetime) -> str:
    """A bucket start as it appears in keys: `YYYY-MM-DDTHH:MMZ` (UTC)."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_start(moment: datetime) -> datetime:
    """The start of the UTC day holding `moment`."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_start(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the hour or day holding `moment`."""
    return hour_start(moment) if granularity == "h" else day_start(moment)


def bucket_length(granularity: Granularity) -> timedelta:
    """How long one bucket lasts."""
    return timedelta(hours=1) if granularity == "h" else timedelta(days=1)


def part_row_key(key: str, hour: datetime, run_id: str) -> str:
    """The RowKey of one run's part of a target's hour."""
    return f"{key}~{bucket_text(hour)}~{run_id}"


def point_row_key(granularity: Granularity, key: str, start: datetime) -> str:
    """The RowKey of a target's hourly or daily point."""
    return f"{granularity}~{key}~{bucket_text(start)}"


def completion_row_key(finished_at: datetime, run_id: str) -> str:
    """The RowKey of a completion: sortable time, then the run."""
    return f"{finished_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}~{run_id}"


class RunCompletionRecord(TableModel):
    """PK `<tenant>~<project>`, RK `<finished_at>~<run id>`: a run ended (or was deleted)."""

    run_id: str
    suite_id: str | None = None
    status: RunStatus | None = Field(default=None, description="The terminal status; None for a deletion.")
    deleted: bool = False
    finished_at: datetime


class RollupWatermarkRecord(TableModel):
    """PK `<tenant>~<project>`, RK `watermark`: how far the project's completions are rolled up."""

    after: str = Field(description="The last completion RowKey rolled up; later ones are new.")
    updated_at: datetime


class RolledRunRecord(TableModel):
    """PK `<tenant>~<project>`, RK `run~<run id>`: the parts a run's last rollup wrote."""

    suite_id: str
    parts: list[str] = Field(default_factory=list, description="Part RowKeys in the suite's partition.")


class RollupPartRecord(TableModel):
    """PK `<tenant>~<project>~<suite>`, RK `<target key>~<hour>~<run id>`: one run x target x hour."""

    suite_id: str
    version: str = Field(description="The suite version's SHA-256 the run used.")
    run_id: str
    target_key: str
    provider: str
    model: str
    hour: datetime
    aggregate: str = Field(description="Aggregate.to_json() of the run's results of this target in this hour.")

    def parsed(self) -> Aggregate:
        """The aggregate."""
        return Aggregate.from_json(self.aggregate)


class RollupPointRecord(TableModel):
    """PK `<tenant>~<project>~<suite>`, RK `<h|d>~<target key>~<bucket start>`: one point of a series."""

    suite_id: str
    granularity: Granularity
    target_key: str
    provider: str
    model: str
    start: datetime
    runs: int = Field(description="Distinct runs merged into the point.")
    aggregate: str = Field(description="Aggregate.to_json() of every result of the target in the bucket.")

    def parsed(self) -> Aggregate:
        """The aggregate."""
        return Aggregate.from_json(self.aggregate)
