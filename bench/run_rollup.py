"""Rollup benchmark: rolling up 10,000 new results in a project with 1,000,000 rolled-up historical
ones, against rolling up the same 10,000 alone in an empty project.

Azurite is real and local (in memory). Everything is seeded through the real tables: result rows
(written as entities in per-partition batches from a thread pool, about 100 characters of output
each), run and shard rows, and each run ended through `RunStore.finish_if_done`, which writes the
completion the rollup reads. Runs have two targets and 1,000 results each (shards of 100 cases);
history runs spread over 100 past days (10 a day), then the history is rolled up for real, so the
project holds its parts, points and watermark. The new runs finish today. Each measured rollup runs
in a child process (`Rollup.run_project`, exactly what the timer calls for the project), so its
time and peak RSS are its own; each is repeated `--repeat` times (the watermark reset and every
new run rolled again, which redoes the same work), alternating with and without history, and the
median is reported.

    .venv/bin/python -m bench.run_rollup                             # 1,000,000 history, 10,000 new
    .venv/bin/python -m bench.run_rollup --history 100000 --new 10000

Goal (issue 6): the rollup with history takes at most 1.5 times as long as the same new results alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.run_export import environ_for
from shared.config import load_settings
from shared.devhost.azurite import Azurite, AzuritePorts
from shared.ids import new_id
from shared.runs.models import RunRecord, RunStatus, ShardRecord, ShardStatus, TargetSpec
from shared.runs.results import item_key, result_partition
from shared.runs.sharding import SHARD_CASES, shard_id, target_id
from shared.runs.store import shard_partition
from shared.services import Services
from shared.storage import StorageUnavailable, Table
from shared.storage.catalog import RESULTS_TABLE, ROLLUP_WATERMARKS_TABLE
from shared.tenancy.records import scope_key
from shared.trends.models import WATERMARK_ROW

RUN_RESULTS = 1000
TARGETS = [
    TargetSpec(provider="openai", model="gpt-4o-mini"),
    TargetSpec(provider="anthropic", model="claude-3-5-haiku", params={"temperature": 0.2}),
]
HISTORY_DAYS = 100
WRITERS = 8
# Azurite's in-memory tables slow down as they grow; a seeding batch that times out is retried.
SEED_ATTEMPTS = 5
PROGRESS_RUNS = 50
# A million rows need more than Node's default heap (about 4 GB here); near that limit Azurite
# spends most of its time collecting garbage.
AZURITE_NODE_OPTIONS = "--max-old-space-size=16384"
OUTPUT = "lorem ipsum dolor sit amet " * 4


class OffsetClock:
    """The system clock moved by `offset` (seeded runs finish in the past, so they are settled)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The moved time."""
        return datetime.now(UTC) + self.offset


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=1_000_000, help="historical results, rolled up first")
    parser.add_argument("--new", type=int, default=10_000, help="new results whose rollup is timed")
    parser.add_argument("--repeat", type=int, default=3, help="rollups timed per case (the median is printed)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: roll up this project and report
    return parser.parse_args()


def result_entities(tenant: str, project: str, run_id: str, cases: int, at: datetime) -> Iterator[dict[str, Any]]:
    """The run's result rows as entities (what `ResultStore.write` stores, without the model round trip)."""
    for index in range(len(TARGETS)):
        for case in range(cases):
            passed = (case * 7919 + index) % 10 < (9 if index == 0 else 7)
            yield {
                "PartitionKey": result_partition(
                    tenant, project, run_id, shard_id(index, case // SHARD_CASES * SHARD_CASES)
                ),
                "RowKey": item_key(f"c{case:05d}", 0),
                "target_id": target_id(index),
                "case_id": f"c{case:05d}",
                "trial": 0,
                "status": "ok",
                "score": 1.0 if passed else 0.0,
                "passed": passed,
                "scores": "[]",
                "output": OUTPUT,
                "output_chars": len(OUTPUT),
                "input_tokens": 120,
                "output_tokens": 40 + case % 60,
                "latency_ms": 200.0 + (case * 37 % 400) + index * 150,
                "ttft_ms": 60.0 + case % 40,
                "model_version": f"{TARGETS[index].model}-2026-01",
                "retries": 0,
                "cost_usd": "0.00042" if index == 0 else "0.00007",
                "priced": True,
                "price_version": "bench-prices",
                "attempts": 1,
                "completed_at": at,
            }


def seed_run(services: Services, results: Table, tenant: str, project: str, suite: str, at: datetime) -> None:
    """One finished run of RUN_RESULTS results completed at `at`, ended through the run store."""
    run_id = new_id("run")
    cases = RUN_RESULTS // len(TARGETS)
    services.runs.runs.insert(
        RunRecord(
            partition_key=scope_key(tenant, project),
            row_key=run_id,
            suite_id=suite,
            version="0" * 64,
            targets=TARGETS,
            trials=1,
            concurrency=1,
            seed=0,
            status=RunStatus.RUNNING,
            shard_count=len(TARGETS) * (cases // SHARD_CASES),
            item_count=RUN_RESULTS,
            price_version="bench-prices",
            created_at=at,
            created_by="bench",
        )
    )
    services.runs.shards.upsert_many(
        ShardRecord(
            partition_key=shard_partition(tenant, project, run_id),
            row_key=shard_id(index, start),
            target_id=target_id(index),
            case_start=start,
            case_end=start + SHARD_CASES,
            status=ShardStatus.DONE,
            updated_at=at,
        )
        for index in range(len(TARGETS))
        for start in range(0, cases, SHARD_CASES)
    )
    for attempt in range(SEED_ATTEMPTS):
        try:
            # Replacing rows is idempotent, so a batch Azurite timed out on is simply written again.
            results.upsert_many(result_entities(tenant, project, run_id, cases, at), mode="replace")
            break
        except StorageUnavailable:
            if attempt == SEED_ATTEMPTS - 1:
                raise
            time.sleep(2.0 * (attempt + 1))
    finished = services.runs.finish_if_done(tenant, project, run_id)
    if finished is None or finished.status is not RunStatus.COMPLETED:
        raise SystemExit(f"seeded run did not complete: {finished}")


def seed_runs(services: Services, tenant: str, project: str, suite: str, moments: list[datetime]) -> float:
    """Seed one run per moment, WRITERS at a time, printing progress; returns the seconds it took."""
    results = Table(services.storage, RESULTS_TABLE)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        seeded = pool.map(lambda at: seed_run(services, results, tenant, project, suite, at), moments)
        for done, _ in enumerate(seeded, start=1):
            if done % PROGRESS_RUNS == 0:
                elapsed = time.perf_counter() - started
                print(f"  seeded {done * RUN_RESULTS:,} results in {elapsed:.0f} s", flush=True)
    return time.perf_counter() - started


def child(services: Services, spec: str) -> None:
    """Roll up one project in this process (after resetting its watermark if asked) and print the numbers."""
    job = json.loads(spec)
    if job["reset"]:
        Table(services.storage, ROLLUP_WATERMARKS_TABLE).upsert(
            {
                "PartitionKey": scope_key(job["tenant"], job["project"]),
                "RowKey": WATERMARK_ROW,
                "after": job["reset"],
                "updated_at": datetime.now(UTC),
            },
            mode="replace",
        )
    started = time.perf_counter()
    report = services.rollup.run_project(job["tenant"], job["project"])
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    numbers = {
        "seconds": elapsed,
        "completions": report.completions,
        "results": report.results_read,
        "runs": report.runs,
    }
    print(json.dumps({**numbers, "peak_mb": peak_mb}))


def run_child(spec: dict[str, Any], environ: dict[str, str]) -> dict[str, float]:
    """Run this module in a child process (so its time and peak RSS are its own) and read its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_rollup", "--child", json.dumps(spec)],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    numbers: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return numbers


def roll_history(spec: dict[str, Any], environ: dict[str, str]) -> dict[str, float]:
    """Roll up the whole history (a rollup takes at most MAX_COMPLETIONS runs; the timer would take turns)."""
    total = {"seconds": 0.0, "peak_mb": 0.0}
    while True:
        numbers = run_child(spec, environ)
        if not numbers["completions"]:
            return total
        total = {"seconds": total["seconds"] + numbers["seconds"], "peak_mb": max(total["peak_mb"], numbers["peak_mb"])}


def watermark(services: Services, tenant: str, project: str) -> str:
    """The project's current watermark (where a timed rollup restarts from)."""
    row = Table(services.storage, ROLLUP_WATERMARKS_TABLE).find(scope_key(tenant, project), WATERMARK_ROW)
    return str(row["after"]) if row is not None else ""


def timed(
    specs: tuple[dict[str, Any], dict[str, Any]], environ: dict[str, str], repeat: int, new: int
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """`repeat` rollups of the same new runs for each spec, alternating (the machine's speed drifts);
    each must read exactly the new results."""
    first: list[dict[str, float]] = []
    second: list[dict[str, float]] = []
    for _ in range(repeat):
        first.append(run_child(specs[0], environ))
        second.append(run_child(specs[1], environ))
    for numbers in first + second:
        if numbers["results"] != new:
            raise SystemExit(f"a rollup read {numbers['results']} results, expected {new}")
    return first, second


def main() -> int:
    """Run the benchmark once and print its numbers."""
    args = parse_args()
    if args.child:
        child(Services(load_settings(dict(os.environ), local_settings=None)), args.child)
        return 0
    history_runs, new_runs = args.history // RUN_RESULTS, args.new // RUN_RESULTS
    if new_runs < 1:
        raise SystemExit(f"--new must be at least {RUN_RESULTS}")
    workdir = Path(tempfile.mkdtemp(prefix="tokenroute-bench-rollup-"))
    os.environ.setdefault("NODE_OPTIONS", AZURITE_NODE_OPTIONS)  # Azurite inherits the environment
    azurite = Azurite(AzuritePorts.free(), location=None, log_file=workdir / "azurite.log")
    azurite.start()
    try:
        environ = environ_for(azurite.connection_string, workdir)
        now = datetime.now(UTC)
        settings = load_settings(environ, local_settings=None)
        Services(settings).ensure_storage()
        tenant, suite = new_id("ten"), new_id("ste")
        full, empty = new_id("prj"), new_id("prj")
        today = now - timedelta(minutes=30)  # new results: in the last hour, finished and settled
        old = [
            now.replace(hour=0, minute=0, second=0, microsecond=0)
            - timedelta(days=2 + i % HISTORY_DAYS, hours=-(i // HISTORY_DAYS % 24))
            for i in range(history_runs)
        ]
        history_seconds = seed_runs(
            Services(settings, clock=OffsetClock(timedelta(hours=-3))), tenant, full, suite, old
        )
        rolled = roll_history({"tenant": tenant, "project": full, "reset": None}, environ)

        newer = Services(settings, clock=OffsetClock(timedelta(minutes=-10)))
        new_seconds = seed_runs(newer, tenant, full, suite, [today] * new_runs)
        seed_runs(newer, tenant, empty, suite, [today] * new_runs)
        mark = watermark(newer, tenant, full)
        with_history, alone = timed(
            ({"tenant": tenant, "project": full, "reset": mark}, {"tenant": tenant, "project": empty, "reset": "!"}),
            environ,
            args.repeat,
            args.new,
        )

        t_history = statistics.median(n["seconds"] for n in with_history)
        t_alone = statistics.median(n["seconds"] for n in alone)
        print(f"history:        {args.history:,} results in {history_runs:,} runs over {HISTORY_DAYS} days")
        print(f"                seeded in {history_seconds:.0f} s, rolled up in {rolled['seconds']:.1f} s")
        print(f"new:            {args.new:,} results in {new_runs} runs ({new_seconds:.1f} s to seed)")
        print(f"with history:   {t_history:.2f} s (median of {args.repeat}: ", end="")
        print(", ".join(f"{n['seconds']:.2f}" for n in with_history) + ")")
        print(f"alone:          {t_alone:.2f} s (median of {args.repeat}: ", end="")
        print(", ".join(f"{n['seconds']:.2f}" for n in alone) + ")")
        print(f"ratio:          {t_history / t_alone:.2f} (goal <= 1.5)")
        print(
            f"peak RSS:       {max(n['peak_mb'] for n in with_history):.0f} MB with history, "
            f"{max(n['peak_mb'] for n in alone):.0f} MB alone, {rolled['peak_mb']:.0f} MB rolling up the history"
        )
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
