"""`make run`: the whole local stack in one command.

1. `local.settings.json` is created from the sample on first run (with a fresh LOCAL_SECRETS_KEY);
2. Azurite starts with its data under `.azurite/` (or an Azurite already listening is reused);
3. the development tenant, project and API key are seeded (TOKENROUTE_DEV_TENANT);
4. the local Functions host serves `function_app.app` on 127.0.0.1;
5. the demo benchmark runs through the real pipeline (`shared.demo`), then it keeps serving.

Ctrl-C stops the host, then Azurite. Running it twice is safe.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from shared.config import Settings, SettingsError, load_settings
from shared.devhost.azurite import PROJECT_ROOT, Azurite, AzuriteError, AzuritePorts, port_open
from shared.devhost.functions import HostError
from shared.devhost.host import Host, install_stop_signals, load_app
from shared.devhost.host_config import HostConfig, HostTuning
from shared.devhost.local_values import load_local_values
from shared.observability.logs import configure_logging, log_to_file

log = logging.getLogger("tokenroute.stack")

LOCAL_SETTINGS = PROJECT_ROOT / "local.settings.json"
SAMPLE_SETTINGS = PROJECT_ROOT / "local.settings.sample.json"
STATE_DIR = PROJECT_ROOT / ".tokenroute"
DEFAULT_HTTP_PORT = 7071

# A main job runs once the stack answers; it gets the base URL and the development API key.
MainJob = Callable[[str, str | None], Coroutine[Any, Any, None]]


def ensure_local_settings(path: Path = LOCAL_SETTINGS, sample: Path = SAMPLE_SETTINGS) -> bool:
    """Create local.settings.json from the sample, with a generated key; True when it was created."""
    if path.exists():
        document = json.loads(path.read_text(encoding="utf-8"))
        values = document.setdefault("Values", {})
        if values.get("SECRETS_BACKEND") == "local" and not values.get("LOCAL_SECRETS_KEY"):
            values["LOCAL_SECRETS_KEY"] = _new_key()
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return False
    document = json.loads(sample.read_text(encoding="utf-8"))
    document["Values"]["LOCAL_SECRETS_KEY"] = _new_key()
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return True


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def azurite_ports(settings: Settings) -> AzuritePorts | None:
    """The emulator ports the settings point at, or None when storage is not a local emulator."""
    connection = settings.storage.connection_string
    if connection is None:
        return None
    value = connection.get_secret_value()
    if value.strip() == "UseDevelopmentStorage=true":
        return AzuritePorts()
    parts = dict(part.split("=", 1) for part in value.split(";") if "=" in part)
    ports = []
    for key in ("BlobEndpoint", "QueueEndpoint", "TableEndpoint"):
        url = urlparse(parts.get(key, ""))
        if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
            return None
        ports.append(url.port)
    return AzuritePorts(*ports)


async def wait_healthy(base_url: str, within_s: float = 60.0) -> dict[str, object]:
    """Poll /api/health until every store answers."""
    deadline = asyncio.get_running_loop().time() + within_s
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                response = await client.get(f"{base_url}/health")
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise HostError(f"{base_url}/health did not answer 200 within {within_s:.0f} s")
            await asyncio.sleep(0.5)


def _banner(base_url: str, health: dict[str, object], api_key: str | None, azurite: str) -> str:
    lines = [
        "",
        "TokenRoute is running locally",
        f"  API        {base_url}   (OpenAPI: {base_url}/openapi.json)",
        f"  Storage    Azurite {azurite}",
        f"  Version    {health.get('version')} ({health.get('commit') or 'no commit'})",
        f"  Env        {health.get('environment')}",
    ]
    if api_key:
        lines += [
            f"  Dev key    {api_key}",
            "",
            "Try:",
            f"  curl -s {base_url}/health",
            f'  curl -s -H "Authorization: Bearer {api_key}" {base_url}/v1/me',
        ]
    else:
        lines += ["", "Try:", f"  curl -s {base_url}/health"]
    lines += ["", "Logs (JSON lines): .tokenroute/host.log. Ctrl-C stops the host and Azurite.", ""]
    return "\n".join(lines)


async def run_stack(main_job: MainJob | None = None) -> int:
    """Start everything, run the main job, serve until a signal arrives."""
    created = ensure_local_settings()
    load_local_values(LOCAL_SETTINGS)
    try:
        settings = load_settings(local_settings=None)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 1
    configure_logging(settings.log_level)
    log_to_file(STATE_DIR / "host.log")
    if created:
        log.info("created local.settings.json from the sample (with a new LOCAL_SECRETS_KEY)")

    azurite: Azurite | None = None
    ports = azurite_ports(settings)
    where = "(not local: using the configured storage account)"
    if ports is not None:
        where = f"on 127.0.0.1:{ports.blob}/{ports.queue}/{ports.table}, data in .azurite/"
        if all(port_open(p) for p in (ports.blob, ports.queue, ports.table)):
            where = f"already running on 127.0.0.1:{ports.blob}/{ports.queue}/{ports.table} (reused)"
        else:
            azurite = Azurite(ports, location=PROJECT_ROOT / ".azurite", log_file=PROJECT_ROOT / ".azurite.log")
            try:
                azurite.start()
            except AzuriteError as error:
                print(f"Azurite could not start: {error}", file=sys.stderr)
                return 1
    try:
        return await _serve(settings, where, main_job)
    finally:
        if azurite is not None:
            azurite.stop()


async def _serve(settings: Settings, azurite_where: str, main_job: MainJob | None) -> int:
    api_key = None
    if settings.dev_tenant:
        # Imported here: the seed needs the services, which the host's app builds on import anyway.
        from shared.services import Services
        from shared.tenancy.dev_seed import seed_dev_tenant

        seeded = await asyncio.to_thread(seed_dev_tenant, Services(settings), STATE_DIR / "dev.json")
        api_key = seeded.api_key
    port = int(os.environ.get("TOKENROUTE_HTTP_PORT", DEFAULT_HTTP_PORT))
    host = Host(
        load_app("function_app:app"),
        HostConfig.load(PROJECT_ROOT / "host.json"),
        http_port=port,
        connection_lookup=os.environ,
        tuning=HostTuning.from_environ(os.environ),
    )
    stop, hurry = asyncio.Event(), asyncio.Event()
    install_stop_signals(stop, hurry)
    serving = asyncio.create_task(host.serve(stop, hurry))
    ready = asyncio.create_task(host.ready.wait())
    await asyncio.wait({serving, ready}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        ready.cancel()
        try:
            await serving
        except HostError as error:
            print(f"The local host could not start: {error}", file=sys.stderr)
            return 1
        return 0
    base_url = host.http_url
    health = await wait_healthy(base_url)
    print(_banner(base_url, health, api_key, azurite_where), flush=True)
    if main_job is not None:
        job = asyncio.create_task(main_job(base_url, api_key))
        await asyncio.wait({serving, job}, return_when=asyncio.FIRST_COMPLETED)
        if job.done() and job.exception() is not None:
            log.error("the main job failed: %s", job.exception())
    await serving
    return 0


async def demo_job(base_url: str, api_key: str | None) -> None:
    """`make run`'s main job: the demo benchmark, unless TOKENROUTE_DEMO=false."""
    if os.environ.get("TOKENROUTE_DEMO", "true").lower() in ("0", "false", "no"):
        return
    from shared.demo.runner import DemoError, run_demo

    try:
        await run_demo(base_url, api_key)
    except DemoError as error:
        print(f"The demo could not run: {error}", file=sys.stderr)
    print("Still serving; Ctrl-C stops the host and Azurite.", flush=True)


def main() -> int:
    """Entry point of `make run`."""
    os.chdir(PROJECT_ROOT)
    sys.path.insert(0, str(PROJECT_ROOT))
    return asyncio.run(run_stack(demo_job))


if __name__ == "__main__":
    sys.exit(main())
