"""Export benchmark: a run of 100,000 results exported as a pack, streamed to Blob Storage in blocks,
and (with --import) that pack imported and replayed through the API.

Azurite is real and local. The run is seeded straight into the stores (two targets, 50,000 cases
each, outputs of about 200 characters; `--varied` makes them random words, which compress about as
real answers do, instead of a repeated phrase), then a child process builds the pack exactly as the
queue job does (`shared.exports.builder.handle`), so its peak RSS is the export's alone. Prints
seeding time, build time, results per second, pack size and the builder's peak RSS.

With `--import`, another child process posts the pack in 1 MiB pieces to `POST .../imports` of a
new project (the API in process, with a replay on a sandbox target) and prints the import's time
and its peak RSS next to the RSS it had before (the API loaded, nothing imported).

    .venv/bin/python -m bench.run_export                 # 100,000 results
    .venv/bin/python -m bench.run_export --results 20000
    .venv/bin/python -m bench.run_export --varied --output-chars 1000 --import

Goals (issue 8): peak memory under 200 MB for 100,000 results, for the export and for the import.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.api.app import create_api
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
from shared.tenancy.records import TenantKind, scope_key
from shared.tenancy.roles import Role, Scope

SHARD_CASES = 1000
WRITE_BATCH = 5000
UPLOAD_CHUNK = 1024 * 1024
WORDS = [f"{a}{b}{c}" for a in "bcdfghklmnprst" for b in "aeiou" for c in ("", "n", "r", "st", "l", "m")]


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100_000, help="results in the run (two targets)")
    parser.add_argument("--output-chars", type=int, default=200, help="characters of each answer (up to 8000)")
    parser.add_argument("--varied", action="store_true", help="answers of random words, not a repeated phrase")
    parser.add_argument("--import", dest="do_import", action="store_true", help="then import the pack and replay it")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: build this export and report
    parser.add_argument("--import-child", help=argparse.SUPPRESS)  # internal: import this pack and report
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


def answer(case: int, chars: int, rng: random.Random | None) -> str:
    """An answer of `chars` characters: a repeated phrase, or random words when `rng` is given."""
    if rng is None:
        return (f"answer {case} " + "lorem ipsum " * (chars // 12 + 1))[:chars]
    words: list[str] = []
    length = 0
    while length < chars:
        words.append(rng.choice(WORDS))
        length += len(words[-1]) + 1
    return " ".join(words)[:chars]


def rows(tenant: str, project: str, run_id: str, cases: int, chars: int, varied: bool) -> Iterator[ResultRecord]:
    """The run's results, generated lazily (the seeding holds one batch at a time)."""
    now = datetime.now(UTC)
    rng = random.Random(8) if varied else None
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
                output=answer(case, chars, rng),
                output_chars=chars,
                input_tokens=120,
                output_tokens=40,
                latency_ms=200.0 + (case * 37 % 400) + index * 150,
                ttft_ms=80.0,
                cost_usd="0.00042" if index == 0 else "0.00007",
                priced=True,
                price_version="bench-prices",
                completed_at=now,
            )


def seed(services: Services, results: int, chars: int, varied: bool) -> tuple[str, str, str]:
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
    for row in rows(tenant, project, run_id, cases, chars, varied):
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


def importer(services: Services) -> tuple[str, str]:
    """A new tenant and project to import into, and an API key that may start runs in it."""
    tenant = services.directory.sight(TenantKind.PERSONAL, "user_bench_import", "user_bench_import", Role.OWNER)
    project = services.projects.create(tenant, "bench import", "user_bench_import")
    _, issued = services.api_keys.create(tenant, project.row_key, "bench", [Scope.RUNS_WRITE], "user_bench_import")
    return project.row_key, issued.value


async def import_through_api(services: Services, spec: dict[str, str]) -> dict[str, float]:
    """Post the pack file in pieces to the API in this process, replaying it; return time and memory."""
    app = create_api(services.settings, services)
    replay = {"targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}], "budget_usd": "1000"}
    headers = {"Authorization": f"Bearer {spec['key']}", "TokenRoute-Replay": json.dumps(replay)}

    async def pieces() -> AsyncIterator[bytes]:
        pack = await asyncio.to_thread(Path(spec["pack"]).open, "rb")
        try:
            while chunk := await asyncio.to_thread(pack.read, UPLOAD_CHUNK):
                yield chunk
        finally:
            pack.close()

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        response = await client.post(
            f"/api/v1/projects/{spec['project']}/imports", content=pieces(), headers=headers, timeout=600
        )
        elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"import refused: {response.status_code} {response.text[:500]}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "before_mb": before_mb, "peak_mb": peak_mb}


def main() -> int:
    """Run the benchmark once and print its numbers."""
    args = parse_args()
    if args.child or args.import_child:
        services = Services(load_settings(dict(os.environ), local_settings=None))
        if args.child:
            child(services, args.child)
        else:
            print(json.dumps(asyncio.run(import_through_api(services, json.loads(args.import_child)))))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="tokenroute-bench-export-"))
    azurite = Azurite(AzuritePorts.free(), location=None, log_file=workdir / "azurite.log")
    azurite.start()
    try:
        environ = environ_for(azurite.connection_string, workdir)
        services = Services(load_settings(environ, local_settings=None))
        services.ensure_storage()
        started = time.perf_counter()
        tenant, project, run_id = seed(services, args.results, args.output_chars, args.varied)
        seeded = time.perf_counter() - started
        record = services.exports.create(tenant, project, ExportKind.RUN, run_id, "bench")
        message = ExportMessage(tenant_id=tenant, project_id=project, export_id=record.row_key)
        numbers = run_child(["--child", message.model_dump_json()], environ)
        print(f"results:        {args.results:,} (answers of {args.output_chars} characters, ", end="")
        print("random words)" if args.varied else "a repeated phrase)")
        print(f"seeding:        {seeded:.1f} s")
        print(f"export build:   {numbers['seconds']:.1f} s ({args.results / numbers['seconds']:,.0f} results/s)")
        print(f"pack:           {numbers['bytes'] / 1e6:.1f} MB, {numbers['files']} files")
        print(f"builder peak:   {numbers['peak_mb']:.0f} MB RSS (goal < 200 MB)")
        if args.do_import:
            pack = workdir / "pack.zip"
            with pack.open("wb") as out:
                for chunk in services.exports.packs.open_stream(record.blob):
                    out.write(chunk)
            target_project, key = importer(services)
            spec = {"pack": str(pack), "project": target_project, "key": key}
            imported = run_child(["--import-child", json.dumps(spec)], environ)
            print(f"import+replay:  {imported['seconds']:.1f} s through POST .../imports, 1 MiB pieces")
            print(
                f"import peak:    {imported['peak_mb']:.0f} MB RSS "
                f"({imported['before_mb']:.0f} MB with the API loaded, before the import)"
            )
    finally:
        azurite.stop()
    return 0


def run_child(arguments: list[str], environ: dict[str, str]) -> dict[str, float]:
    """Run this module in a child process (so its peak RSS is its own) and read its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_export", *arguments],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    numbers: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return numbers


if __name__ == "__main__":
    sys.exit(main())
