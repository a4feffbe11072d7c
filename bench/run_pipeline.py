"""Pipeline benchmark: N cases x T targets against a local OpenAI-compatible server with latency L.

Everything is real: Azurite, the local Functions host running `function_app:app` in its own
process (HTTP, queue worker, tables), and a provider stand-in on 127.0.0.1 that answers after a
fixed latency. Prints wall time from submission to completion, items per second, the
provider-bound ideal N*T*L/C and the ratio to it, the worker's CPU per item and its peak memory.

    .venv/bin/python -m bench.run_pipeline                      # N=200 T=2 L=100ms C=20, streaming
    .venv/bin/python -m bench.run_pipeline --no-stream
    .venv/bin/python -m bench.run_pipeline --cases 10000 --latency-ms 20 --concurrency 64   # memory

After the run, a bare httpx client in its own process makes the same calls to the same stand-in
with nothing stored: the floor this machine allows at that moment (the stand-in, the client and
the loop share the cores), printed beside the run so machine drift can be told from regressions.

A 2-case run goes through first, unmeasured, so the numbers are those of a warm host (a running
service has served its routes before); `--cold` measures the host's very first run instead.

BENCH_CPROFILE=/tmp/host.prof profiles the host process (cProfile, its event-loop thread).

Goals (issue 5): ratio <= 1.3 at N=200, T=2, L=100 ms, C=20 with every result stored; CPU under
4 ms per item; under 300 MB peak for a 10,000-case run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shared.config import load_settings
from shared.credentials.store import CredentialDetails
from shared.devhost.azurite import PROJECT_ROOT, Azurite, AzuritePorts, free_ports
from shared.devhost.openai_standin import Behaviour, OpenAIStandIn
from shared.services import Services
from shared.tenancy.dev_seed import seed_dev_tenant

# The local host's threads for queue polling, receiving, deleting and lease renewal: in Azure this is
# the Functions host's work (another process), not the worker's.
HOST_QUEUE_THREADS = "devhost-storage"
MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o"]


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="N: cases in the suite")
    parser.add_argument("--targets", type=int, default=2, choices=range(1, len(MODELS) + 1), help="T: targets")
    parser.add_argument("--latency-ms", type=float, default=100, help="L: the provider's latency per call")
    parser.add_argument("--concurrency", type=int, default=20, help="C: provider calls in flight in total")
    parser.add_argument("--no-stream", action="store_true", help="ask for non-streamed answers")
    parser.add_argument(
        "--cold", action="store_true", help="measure the host's first run (no 2-case warm-up run before it)"
    )
    parser.add_argument("--bare-client", help=argparse.SUPPRESS)  # internal: the reference client, at this URL
    return parser.parse_args()


def suite_content(cases: int) -> dict[str, Any]:
    """N multiple-choice cases with distinct prompts."""
    return {
        "cases": [
            {"id": f"q{i:05d}", "template": "Question {{n}}: A, B, C or D?", "vars": {"n": i}, "expected": "A"}
            for i in range(cases)
        ]
    }


def main() -> int:
    """Run the benchmark once and print its numbers."""
    args = parse_args()
    if args.bare_client:
        asyncio.run(_bare_calls(args))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="tokenroute-bench-"))
    azurite = Azurite(AzuritePorts.free(), location=None, log_file=workdir / "azurite.log")
    azurite.start()
    standin = OpenAIStandIn(Behaviour(latency_s=args.latency_ms / 1000)).start()
    environ = {
        "TOKENROUTE_ENV": "test",
        "AzureWebJobsStorage": azurite.connection_string,
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "LOCAL_SECRETS_PATH": str(workdir / "secrets.json"),
        "TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS": "true",
        "TOKENROUTE_LOG_LEVEL": "WARNING",
    }
    services = Services(load_settings(environ, local_settings=None))
    seeded = seed_dev_tenant(services, workdir / "dev.json")
    credential = services.credentials.create(
        seeded.tenant_id,
        seeded.project_id,
        CredentialDetails(provider="openai", name="bench", base_url=standin.base_url),
        "sk-bench-0123456789abcdef",
        "bench",
    )
    port = free_ports(1)[0]
    cprofile = os.environ.get("BENCH_CPROFILE")  # a path: cProfile the host (whole life) into it
    profiling = ["-m", "cProfile", "-o", cprofile] if cprofile else []
    host = subprocess.Popen(
        [sys.executable, *profiling, "-m", "shared.devhost", "--app", "function_app:app", "--port", str(port),
         "--local-settings", str(workdir / "none.json")],
        cwd=PROJECT_ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobs", "TOKENROUTE_"))}, **environ},
        stdout=open(workdir / "devhost.log", "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        return _measure(args, port, seeded.api_key, seeded.project_id, credential.row_key, host, standin)
    finally:
        if host.poll() is None:
            host.kill()
        standin.stop()
        azurite.stop()


def _measure(
    args: argparse.Namespace,
    port: int,
    api_key: str,
    project: str,
    credential: str,
    host: subprocess.Popen[bytes],
    standin: OpenAIStandIn,
) -> int:
    base = f"http://127.0.0.1:{port}/api/v1/projects/{project}"
    with httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=120) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                print("the local host did not start; see its log", file=sys.stderr)
                return 1
            time.sleep(0.2)
        suite = client.post(f"{base}/suites", json={"name": "bench"}).json()
        version = client.post(f"{base}/suites/{suite['id']}/versions", json=suite_content(args.cases)).json()
        targets = [
            {"provider": "openai", "model": MODELS[i], "credential_id": credential, "stream": not args.no_stream}
            for i in range(args.targets)
        ]
        body = {"suite_id": suite["id"], "version": version["version"], "targets": targets,
                "concurrency": args.concurrency}  # fmt: skip
        if not args.cold:
            warmed = _warm_up(client, base, targets)
            print(f"warm-up run (2 cases, not measured)  : {warmed:8.2f} s from submission to its end")
        standin.reset_timing()
        total_before = standin.total
        cpu_before = _cpu_seconds(host.pid)
        loop_before = _cpu_seconds(host.pid, thread=host.pid)
        queue_io_before = _thread_group_cpu(host.pid, HOST_QUEUE_THREADS)
        others_before = _cpu_seconds(os.getpid()) + _azurite_cpu()
        submitted, submitted_at = time.perf_counter(), time.time()
        run = client.post(f"{base}/runs", json=body)
        run.raise_for_status()
        accepted = time.perf_counter()
        run_id = run.json()["id"]
        while True:
            state = client.get(f"{base}/runs/{run_id}").json()
            if state["status"] not in ("queued", "running"):
                break
            # Each poll costs the host an API request; the end time comes from the run itself.
            time.sleep(1.0)
        # The run's own end time (same machine clock), so the polling interval adds nothing.
        finished_at = datetime.fromisoformat(state["finished_at"]).timestamp()
        finished = submitted + (finished_at - submitted_at)
        wall = finished - submitted
        cpu = _cpu_seconds(host.pid) - cpu_before
        loop_cpu = _cpu_seconds(host.pid, thread=host.pid) - loop_before
        queue_io = _thread_group_cpu(host.pid, HOST_QUEUE_THREADS) - queue_io_before
        others = _cpu_seconds(os.getpid()) + _azurite_cpu() - others_before
    host.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(host.pid, 0)
    items = args.cases * args.targets
    ideal = items * args.latency_ms / 1000 / args.concurrency
    calls, peak = standin.total - total_before, standin.max_in_flight
    first_call, last_answer = standin.first_call_at, standin.last_answer_at
    bare = _bare_reference(args, standin)
    print(f"run {run_id}: {state['status']}, {state['progress']['items_done']}/{items} items stored")
    print(f"N={args.cases} T={args.targets} L={args.latency_ms:.0f}ms C={args.concurrency} "
          f"stream={not args.no_stream}")  # fmt: skip
    print(f"wall time, submission to completion : {wall:8.2f} s")
    print(f"items per second                    : {items / wall:8.1f}")
    print(f"provider-bound ideal N*T*L/C        : {ideal:8.2f} s")
    print(f"ratio to the ideal                  : {wall / ideal:8.2f}   (goal <= 1.3)")
    print(f"  bare httpx client, nothing stored : {bare / ideal:8.2f}   (the same calls: this machine's floor now)")
    print(
        f"worker CPU per item                 : {cpu / items * 1000:8.2f} ms (goal < 4; host process, during the run)"
    )
    print(f"  of which the event-loop thread    : {loop_cpu / items * 1000:8.2f} ms")
    print(f"  of which the host's queue polling : {queue_io / items * 1000:8.2f} ms (the Functions host's own work)")
    print(f"  worker CPU per item without it    : {(cpu - queue_io) / items * 1000:8.2f} ms")
    print(f"CPU of Azurite + stand-in + client  : {others:8.2f} s  (machine: {os.cpu_count()} cores)")
    print(f"worker peak memory (RSS)            : {usage.ru_maxrss / 1024:8.1f} MB (goal < 300 at 10,000 cases)")
    print(f"provider calls / max in flight      : {calls} / {peak}")
    if first_call is not None and last_answer is not None:
        print(f"  submission -> 202 Accepted        : {accepted - submitted:8.2f} s")
        print(f"  submission -> first provider call : {first_call - submitted:8.2f} s")
        print(f"  first call -> last answer         : {last_answer - first_call:8.2f} s")
        print(f"  last answer -> run recorded done  : {finished - last_answer:8.2f} s")
    return 0 if state["status"] == "completed" else 1


def _bare_reference(args: argparse.Namespace, standin: OpenAIStandIn) -> float:
    """Seconds a bare httpx client in its own process takes for the run's calls to the stand-in."""
    command = [
        sys.executable,
        "-m",
        "bench.run_pipeline",
        "--bare-client",
        standin.base_url,
        "--cases",
        str(args.cases),
        "--targets",
        str(args.targets),
        "--concurrency",
        str(args.concurrency),
    ]
    if args.no_stream:
        command.append("--no-stream")  # fmt: skip
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


async def _bare_calls(args: argparse.Namespace) -> None:
    """The run's provider calls and nothing else: C at a time, each answer read whole; prints seconds."""
    calls = [(MODELS[t], i) for i in range(args.cases) for t in range(args.targets)]
    slots = asyncio.Semaphore(args.concurrency)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.bare_client, limits=limits, timeout=60) as client:

        async def call(model: str, case: int) -> None:
            body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": f"Question {case}"}]}
            if not args.no_stream:
                body |= {"stream": True, "stream_options": {"include_usage": True}}
            async with slots, client.stream("POST", "/chat/completions", json=body) as response:
                response.raise_for_status()
                async for _ in response.aiter_lines():
                    pass

        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for model, case in calls:
                group.create_task(call(model, case))
        print(time.perf_counter() - started)


def _warm_up(client: httpx.Client, base: str, targets: list[dict[str, Any]]) -> float:
    """Run a 2-case suite through the pipeline once, so the measured run sees a warm host (routes,
    connection pools, first imports) as a running service does; returns its wall time."""
    suite = client.post(f"{base}/suites", json={"name": "warm-up"}).json()
    version = client.post(f"{base}/suites/{suite['id']}/versions", json=suite_content(2)).json()
    started = time.perf_counter()
    run = client.post(f"{base}/runs", json={"suite_id": suite["id"], "version": version["version"], "targets": targets})
    run.raise_for_status()
    while client.get(f"{base}/runs/{run.json()['id']}").json()["status"] in ("queued", "running"):
        time.sleep(0.1)
    return time.perf_counter() - started


def _azurite_cpu() -> float:
    """CPU seconds of every running Azurite (node) process."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"azurite" in (entry / "cmdline").read_bytes():
                    total += _cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def _thread_group_cpu(pid: int, prefix: str) -> float:
    """CPU seconds of the process's live threads whose name starts with `prefix` (Linux /proc)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().startswith(prefix):
                total += _cpu_seconds(pid, thread=int(task.name))
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return total


def _cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a running process, or of one of its threads (Linux /proc)."""
    stat = Path(f"/proc/{pid}/task/{thread}/stat") if thread is not None else Path(f"/proc/{pid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


if __name__ == "__main__":
    sys.exit(main())
