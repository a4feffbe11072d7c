"""A finished run over a real suite version, written straight to the stores (no provider calls)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta

from shared.exports.zipstream import MANIFEST_NAME, PackFile, ZipStream
from shared.ids import new_id
from shared.runs.models import ItemStatus, ResultRecord, RunRecord, RunStatus, TargetSpec
from shared.runs.results import MAX_INLINE_OUTPUT_CHARS, item_key, result_partition
from shared.runs.sharding import shard_id, target_id
from shared.services import Services
from shared.storage import blob_path
from shared.tenancy.records import scope_key

TARGETS = [("openai", "big", 0.9, "0.004", 300.0), ("anthropic", "small", 0.7, "0.0005", 120.0)]


def seed_suite_run(
    services: Services, tenant_id: str, project_id: str, suite_id: str, version: str, *, cases: int = 40
) -> RunRecord:
    """A completed run of two targets over `cases` cases, one answer too large for a row (a blob)."""
    now = services.clock.now()
    run_id = new_id("run")
    run = RunRecord(
        partition_key=scope_key(tenant_id, project_id),
        row_key=run_id,
        suite_id=suite_id,
        version=version,
        targets=[TargetSpec(provider=p, model=m, credential_id="crd_abcdefghijklmnopqrst") for p, m, *_ in TARGETS],
        trials=1,
        concurrency=1,
        seed=0,
        status=RunStatus.COMPLETED,
        shard_count=len(TARGETS),
        item_count=cases * len(TARGETS),
        price_version="test-prices",
        created_at=now - timedelta(minutes=5),
        created_by="user_seed",
        finished_at=now,
    )
    services.runs.runs.insert(run)
    rows = []
    for index, (_, model, rate, cost, latency) in enumerate(TARGETS):
        for case in range(cases):
            passed = case < rate * cases
            row = ResultRecord(
                partition_key=result_partition(tenant_id, project_id, run_id, shard_id(index, 0)),
                row_key=item_key(f"c{case:03d}", 0),
                target_id=target_id(index),
                case_id=f"c{case:03d}",
                trial=0,
                status=ItemStatus.OK if case != cases - 1 else ItemStatus.ERROR,
                score=1.0 if passed else 0.0,
                passed=passed,
                latency_ms=latency + case * 3,
                ttft_ms=latency / 3,
                output_tokens=20,
                input_tokens=50,
                cost_usd=cost,
                priced=True,
                price_version="test-prices",
                model_version=f"{model}-0613",
                completed_at=now,
            )
            if case == 0:
                # A large answer lives in a blob (written directly: ResultStore.store_output builds a blob
                # segment with "~", which blob_path refuses; reported upstream).
                output = "x" * (MAX_INLINE_OUTPUT_CHARS + 10)
                name = blob_path(tenant_id, project_id, run_id, shard_id(index, 0), f"c{case:03d}-000.txt")
                services.results.outputs.put(name, output.encode(), overwrite=True)
                row = row.model_copy(update={"output_blob": name, "output_chars": len(output)})
            else:
                row = row.model_copy(update={"output": f"answer {case}"})
            rows.append(row)
    services.results.write(rows)
    return run


def grown_pack(data: bytes, path: str, extra_lines: int) -> bytes:
    """The pack `data` rebuilt (with a manifest that verifies) with `extra_lines` more result lines of
    random, incompressible output appended to the file `path`: a pack of a bigger run."""
    original = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(original.read(MANIFEST_NAME))
    header = {key: value for key, value in manifest.items() if key != "files"}

    def grown() -> Iterator[bytes]:
        yield original.read(path)
        for index in range(extra_lines):
            output = base64.b64encode(secrets.token_bytes(384)).decode()
            line = {"target_id": "t00", "case_id": f"x{index:06d}", "trial": 0, "output": output}
            yield (json.dumps(line) + "\n").encode()

    def kept(name: str) -> Callable[[], list[bytes]]:
        return lambda: [original.read(name)]

    files = [
        PackFile(entry["path"], entry["media_type"], grown if entry["path"] == path else kept(entry["path"]))
        for entry in manifest["files"]
    ]
    return b"".join(ZipStream(header).chunks(files))
