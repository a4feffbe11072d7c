"""Stored evidence for API tests: a finished run and its results written straight to the stores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from shared.ids import new_id
from shared.runs.models import ItemStatus, ResultRecord, RunRecord, RunStatus, TargetSpec
from shared.runs.results import item_key, result_partition
from shared.runs.sharding import shard_id, target_id
from shared.services import Services
from shared.tenancy.records import scope_key


@dataclass(frozen=True)
class SeedTarget:
    """A target of a seeded run: which cases pass, how slow and how costly each request is."""

    provider: str
    model: str
    passes: int
    latency_ms: float = 100.0
    cost_usd: str = "0.001"
    model_version: str | None = None  # what the provider reports; default `<model>-0613`


def seed_run(
    services: Services,
    tenant_id: str,
    project_id: str,
    targets: list[SeedTarget],
    *,
    cases: int = 100,
    status: RunStatus = RunStatus.COMPLETED,
    price_version: str = "test-prices",
    suite_id: str | None = None,
) -> RunRecord:
    """Store a run with `cases` results per target (cases below `passes` pass) and return it; a new
    suite each time unless `suite_id` names one (its version is then the same for every run)."""
    now = services.clock.now()
    run_id = new_id("run")
    run = RunRecord(
        partition_key=scope_key(tenant_id, project_id),
        row_key=run_id,
        suite_id=suite_id or new_id("ste"),
        version=hashlib.sha256((suite_id or run_id).encode()).hexdigest(),
        targets=[TargetSpec(provider=t.provider, model=t.model) for t in targets],
        trials=1,
        concurrency=1,
        seed=0,
        status=status,
        shard_count=len(targets),
        item_count=cases * len(targets),
        price_version=price_version,
        created_at=now - timedelta(minutes=5),
        created_by="user_seed",
        finished_at=now if status.terminal else None,
    )
    services.runs.runs.insert(run)
    rows = [
        ResultRecord(
            partition_key=result_partition(tenant_id, project_id, run_id, shard_id(index, 0)),
            row_key=item_key(f"c{case:03d}", 0),
            target_id=target_id(index),
            case_id=f"c{case:03d}",
            trial=0,
            status=ItemStatus.OK,
            score=1.0 if case < t.passes else 0.0,
            passed=case < t.passes,
            latency_ms=t.latency_ms + case % 5,
            cost_usd=t.cost_usd,
            priced=True,
            price_version=price_version,
            model_version=t.model_version or f"{t.model}-0613",
            completed_at=now,
        )
        for index, t in enumerate(targets)
        for case in range(cases)
    ]
    services.results.write(rows)
    return run
