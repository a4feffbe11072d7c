"""Finished runs for trend tests, written through the run store so the completion feed is the real one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.ids import new_id
from shared.runs.models import (
    ItemStatus,
    ResultRecord,
    RunRecord,
    RunStatus,
    ShardRecord,
    ShardStatus,
    TargetSpec,
)
from shared.runs.results import item_key, result_partition
from shared.runs.sharding import shard_id, target_id
from shared.runs.store import shard_partition
from shared.services import Services
from shared.tenancy.records import scope_key


@dataclass(frozen=True)
class Item:
    """One result of a seeded run."""

    score: float | None = 1.0
    passed: bool | None = True
    latency_ms: float | None = 100.0
    ttft_ms: float | None = 20.0
    output_tokens: int | None = 50
    cost_usd: str | None = "0.001"
    error: bool = False
    model_version: str | None = "m-0613"
    retries: int = 0


def seed_finished_run(
    services: Services,
    tenant_id: str,
    project_id: str,
    suite_id: str,
    items: dict[int, list[tuple[datetime, Item]]],
    *,
    targets: list[TargetSpec],
    failed_shard: bool = False,
) -> RunRecord:
    """Store a run of `targets` whose target i has `items[i]` (completed at the given times), then end it
    through `RunStore.finish_if_done`, which writes the completion the rollup reads."""
    run_id = new_id("run")
    scope = scope_key(tenant_id, project_id)
    now = services.clock.now()
    run = RunRecord(
        partition_key=scope,
        row_key=run_id,
        suite_id=suite_id,
        version=hashlib.sha256(suite_id.encode()).hexdigest(),
        targets=targets,
        trials=1,
        concurrency=1,
        seed=0,
        status=RunStatus.RUNNING,
        shard_count=len(targets),
        item_count=sum(len(rows) for rows in items.values()),
        price_version="test-prices",
        created_at=now - timedelta(minutes=5),
        created_by="user_seed",
    )
    services.runs.runs.insert(run)
    services.runs.shards.upsert_many(
        ShardRecord(
            partition_key=shard_partition(tenant_id, project_id, run_id),
            row_key=shard_id(index, 0),
            target_id=target_id(index),
            case_start=0,
            case_end=len(items.get(index, [])),
            status=ShardStatus.FAILED if failed_shard and index == 0 else ShardStatus.DONE,
            updated_at=now,
        )
        for index in range(len(targets))
    )
    services.results.write(
        ResultRecord(
            partition_key=result_partition(tenant_id, project_id, run_id, shard_id(index, 0)),
            row_key=item_key(f"c{case:04d}", 0),
            target_id=target_id(index),
            case_id=f"c{case:04d}",
            trial=0,
            status=ItemStatus.ERROR if item.error else ItemStatus.OK,
            score=item.score,
            passed=item.passed,
            latency_ms=item.latency_ms,
            ttft_ms=item.ttft_ms,
            output_tokens=item.output_tokens,
            cost_usd=item.cost_usd,
            priced=item.cost_usd is not None,
            price_version="test-prices",
            model_version=item.model_version,
            retries=item.retries,
            completed_at=completed_at,
        )
        for index, rows in items.items()
        for case, (completed_at, item) in enumerate(rows)
    )
    finished = services.runs.finish_if_done(tenant_id, project_id, run_id)
    assert finished is not None
    assert finished.status.terminal
    return finished
