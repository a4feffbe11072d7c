"""A real `python -m shared.devhost` process for tests, with its log and the test app's records."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.devhost.azurite import PROJECT_ROOT

READY_LINE = "devhost ready"

# host.json for the tests: fast polling and retries, few deliveries before poison.
FAST_HOST_JSON: dict[str, Any] = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "queues": {
            "batchSize": 16,
            "newBatchThreshold": 8,
            "maxPollingInterval": "00:00:00.500",
            "visibilityTimeout": "00:00:01",
            "maxDequeueCount": 3,
            "messageEncoding": "none",
        },
    },
}


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `condition` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class DevHostProcess:
    """One devhost subprocess; its log and the test app's records are files under the test's tmp_path."""

    app: str
    port: int
    env: dict[str, str]
    log_path: Path
    record_path: Path
    host_json: Path
    process: subprocess.Popen[bytes] | None = None
    _logs: list[Path] = field(default_factory=list)

    def start(self, timeout: float = 30.0) -> DevHostProcess:
        """Start the process and wait for its ready line."""
        self.log_path = self.log_path.with_name(f"{self.log_path.stem}-{len(self._logs)}.log")
        self._logs.append(self.log_path)
        command = [
            sys.executable, "-m", "shared.devhost",
            "--app", self.app,
            "--port", str(self.port),
            "--host-json", str(self.host_json),
            "--local-settings", str(self.log_path.with_name("no-local-settings.json")),
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_until(self._ready, timeout, f"{self.app} to be ready")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"devhost exited with {self.process.returncode}:\n{self.log()}")
        return READY_LINE in self.log()

    def log(self) -> str:
        """Everything the current process has written."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def records(self, event: str | None = None) -> list[dict[str, Any]]:
        """What the test app recorded, optionally only one kind of event."""
        if not self.record_path.exists():
            return []
        lines = self.record_path.read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        return [e for e in entries if event is None or e["event"] == event]

    def signal(self, signum: int) -> None:
        """Send a signal to the running process."""
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and return its status."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL and reap (no-op when it already exited)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def all_logs(self) -> str:
        """The logs of every process started by this object, for failure reports."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in self._logs if path.exists())
