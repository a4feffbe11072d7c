"""Export benchmark: a run of 100,000 results exported as a pack, streamed to Blob Storage in blocks.

Azurite is real and local. The run is seeded straight into the stores (two targets, 50,000 cases
each, outputs of about 200 characters), then a child process builds the pack exactly as the queue
job does (`shared.exports.builder.handle`), so its peak RSS is the export's alone. Prints seeding
time, build time, results per second, pack size and the builder's peak RSS.

    .venv/bin/python -m bench.run_export                 # 100,000 results
    .venv/bin/python -m bench.run_export --results 20000

Goal (issue 8): peak memory under 200 MB for 100,000 results.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from shared.config import load_settings
from shared.devhost.azurite import Azurite, AzuritePorts
from shared.exports.builder import handle
from shared.exports.models import ExportKind, ExportMessage
from shared.ids import new_id
from shared.runs.models import ItemStatus, ResultRecord, RunRecord, RunStatus, TargetSpec
from shared.runs.results import item_key, result_partition
from shared.runs.sharding import shard_id, target_id
from shared.services import Services
from shared.suites.models import SuiteContent
from shared.tenancy.records import scope_key

SHARD_CASES = 1000
WRITE_BATCH = 5000


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100_000, help="results in the run (two targets)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: build this export and report
    return parser.parse_args()


def environ_for(connection_string: str, workdir: Path) -> dict[str, str]:
    """Settings for the bench's Azurite (no Clerk, local secrets)."""
    return {
        "TOKENROUTE_ENV": "test",
        "AzureWebJobsStorage": connection_string,
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "LOCAL_SECRETS_PATH": str(workdir / "secrets.json"),
        "TOKENROUTE_LOG_LEVEL": "WARNING",
    }


def rows(tenant: str, project: str, run_id: str, cases: int) -> Iterator[ResultRecord]:
    """The run's results, generated lazily (the seeding holds one batch at a time)."""
    now = datetime.now(UTC)
    for index in range(2):
        for case in range(cases):
            passed = (case * 7919 + index) % 10 < (9 if index == 0 else 7)
            yield ResultRecord(
                partition_key=result_partition(
                    tenant, project, run_id, shard_id(index, case // SHARD_CASES * SHARD_CASES)
                ),
                row_key=item_key(f"c{case:06d}", 0),
                target_id=target_id(index),
                case_id=f"c{case:06d}",
                trial=0,
                status=ItemStatus.OK,
                score=1.0 if passed else 0.0,
                passed=passed,
                output=f"answer {case} " + "lorem ipsum " * 16,
                output_chars=200,
                input_tokens=120,
                output_tokens=40,
                latency_ms=200.0 + (case * 37 % 400) + index * 150,
                ttft_ms=80.0,
                cost_usd="0.00042" if index == 0 else "0.00007",
                priced=True,
                price_version="bench-prices",
                completed_at=now,
            )


def seed(services: Services, results: int) -> tuple[str, str, str]:
    """A suite version and a completed run with `results` results; returns tenant, project, run."""
    tenant, project, run_id = new_id("ten"), new_id("prj"), new_id("run")
    suite = services.suites.create_suite(tenant, project, "bench", None, "bench")
    content = SuiteContent.model_validate(
        {"cases": [{"id": f"c{i:06d}", "template": f"q{i}", "expected": "a"} for i in range(100)]}
    )
    version, _ = services.suites.add_version(tenant, project, suite.row_key, content, "bench")
    cases = results // 2
    services.runs.runs.insert(
        RunRecord(
            partition_key=scope_key(tenant, project),
            row_key=run_id,
            suite_id=suite.row_key,
            version=version.row_key,
            targets=[TargetSpec(provider="openai", model="big"), TargetSpec(provider="anthropic", model="small")],
            trials=1,
            concurrency=1,
            seed=0,
            status=RunStatus.COMPLETED,
            shard_count=2 * ((cases + SHARD_CASES - 1) // SHARD_CASES),
            item_count=results,
            price_version="bench-prices",
            created_at=datetime.now(UTC),
            created_by="bench",
            finished_at=datetime.now(UTC),
        )
    )
    batch: list[ResultRecord] = []
    for row in rows(tenant, project, run_id, cases):
        batch.append(row)
        if len(batch) >= WRITE_BATCH:
            services.results.write(batch)
            batch.clear()
    services.results.write(batch)
    return tenant, project, run_id


def child(services: Services, spec: str) -> None:
    """Build one export in this process and print its numbers as JSON."""
    message = ExportMessage.model_validate_json(spec)
    started = time.perf_counter()
    record = handle(services, message)
    elapsed = time.perf_counter() - started
    if record is None or record.status != "ready":
        raise SystemExit(f"export did not finish: {record}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "bytes": record.size_bytes, "files": record.files, "peak_mb": peak_mb}))


def main() -> int:
    """Run the benchmark once and print its numbers."""
    args = parse_args()
    if args.child:
        services = Services(load_settings(dict(os.environ), local_settings=None))
        child(services, args.child)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="tokenroute-bench-export-"))
    azurite = Azurite(AzuritePorts.free(), location=None, log_file=workdir / "azurite.log")
    azurite.start()
    try:
        environ = environ_for(azurite.connection_string, workdir)
        services = Services(load_settings(environ, local_settings=None))
        services.ensure_storage()
        started = time.perf_counter()
        tenant, project, run_id = seed(services, args.results)
        seeded = time.perf_counter() - started
        record = services.exports.create(tenant, project, ExportKind.RUN, run_id, "bench")
        message = ExportMessage(tenant_id=tenant, project_id=project, export_id=record.row_key)
        done = subprocess.run(
            [sys.executable, "-m", "bench.run_export", "--child", message.model_dump_json()],
            env={**os.environ, **environ},
            capture_output=True,
            text=True,
            check=True,
        )
        numbers = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"results:        {args.results:,}")
        print(f"seeding:        {seeded:.1f} s")
        print(f"export build:   {numbers['seconds']:.1f} s ({args.results / numbers['seconds']:,.0f} results/s)")
        print(f"pack:           {numbers['bytes'] / 1e6:.1f} MB, {numbers['files']} files")
        print(f"builder peak:   {numbers['peak_mb']:.0f} MB RSS (goal < 200 MB)")
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
