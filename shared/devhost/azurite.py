"""Start and stop the Azurite storage emulator (npm package `azurite`, pinned in package.json).

Used by `make run` (data kept under `.azurite/`) and by the test fixtures (in memory, on free
ports). Azurite always listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.storage.emulator import DEV_ACCOUNT, DEV_ACCOUNT_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class AzuriteError(RuntimeError):
    """Azurite could not be started or did not answer in time."""


@dataclass(frozen=True)
class AzuritePorts:
    """The three service ports of one Azurite instance."""

    blob: int = 10000
    queue: int = 10001
    table: int = 10002

    @classmethod
    def free(cls) -> AzuritePorts:
        """Three ports nobody listens on right now."""
        return cls(*free_ports(3))

    def connection_string(self) -> str:
        """The connection string that reaches this instance with the development account."""
        base = "http://127.0.0.1"
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{self.blob}/{DEV_ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue}/{DEV_ACCOUNT};"
            f"TableEndpoint={base}:{self.table}/{DEV_ACCOUNT};"
        )


def free_ports(count: int) -> list[int]:
    """Ask the kernel for `count` distinct free ports on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class Azurite:
    """One Azurite process: `start()` waits until all three services accept connections."""

    def __init__(self, ports: AzuritePorts, location: Path | None = None, log_file: Path | None = None) -> None:
        self.ports = ports
        self.location = location
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        """Connection string for this instance."""
        return self.ports.connection_string()

    def command(self) -> list[str]:
        """The Azurite command line (in memory when no data folder is given)."""
        binary = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
        if not binary.exists():
            raise AzuriteError(f"{binary} is missing: run `npm ci` (make does it for you)")
        command = [
            str(binary),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(self.ports.blob),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.ports.queue),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.ports.table),
        ]  # fmt: skip
        if self.location is None:
            command.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            command += ["--location", str(self.location)]
        return command

    def start(self, timeout: float = 60.0) -> None:
        """Start Azurite and wait until blob, queue and table ports answer."""
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # so Ctrl-C in a terminal reaches us first and we stop it in order
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AzuriteError(f"Azurite exited with status {self._process.returncode}; see {self.log_file}")
            if all(port_open(p) for p in (self.ports.blob, self.ports.queue, self.ports.table)):
                return
            time.sleep(0.1)
        self.stop()
        raise AzuriteError(f"Azurite did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the process group; waits for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
