"""Shared fixtures: one Azurite per test session (in memory, free ports), a Clerk stand-in
(RSA key and JWKS server on 127.0.0.1), and settings that point at both."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.api.app import create_api
from shared.config import Settings, load_settings
from shared.devhost.azurite import Azurite, AzuritePorts, free_ports
from shared.devhost.openai_standin import OpenAIStandIn
from shared.services import Services
from shared.tenancy.dev_seed import seed_dev_tenant
from tests.support.clerk import APP_ORIGIN, AUTHORIZED_PARTIES, ISSUER, JwksServer, RsaKey, new_rsa_key, sign
from tests.support.devhost_process import FAST_HOST_JSON, DevHostProcess
from tests.support.stack import Stack, StackFactory

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite, started once for the whole session and stopped at the end, on failure too."""
    ARTIFACTS.mkdir(exist_ok=True)
    instance = Azurite(AzuritePorts.free(), location=None, log_file=ARTIFACTS / "azurite.log")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def clerk_key() -> RsaKey:
    """The key our Clerk stand-in signs session tokens with."""
    return new_rsa_key("ins_test_1")


@pytest.fixture(scope="session")
def clerk_jwks(clerk_key: RsaKey) -> Iterator[JwksServer]:
    """Clerk's JWKS endpoint, served from 127.0.0.1 for the whole session."""
    server = JwksServer([clerk_key.jwk()])
    try:
        yield server
    finally:
        server.stop()


def settings_environ(connection_string: str, **overrides: str) -> dict[str, str]:
    """A complete, valid test environment for `load_settings` (API keys only, no Clerk)."""
    environ = {
        "TOKENROUTE_ENV": "test",
        "AzureWebJobsStorage": connection_string,
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    environ.update(overrides)
    return environ


@pytest.fixture
def settings(azurite: Azurite, clerk_jwks: JwksServer, tmp_path: Path) -> Settings:
    """Validated settings for the session's Azurite and Clerk stand-in, with a private secrets file."""
    environ = settings_environ(
        azurite.connection_string,
        CLERK_ISSUER=ISSUER,
        CLERK_JWKS_URL=clerk_jwks.url,
        CLERK_AUTHORIZED_PARTIES=",".join(AUTHORIZED_PARTIES),
        LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"),
    )
    return load_settings(environ, local_settings=None)


TokenFactory = Callable[..., str]


@pytest.fixture
def session_token(clerk_key: RsaKey) -> TokenFactory:
    """Make a real Clerk session token: `session_token("user_x", org="org_y", role="org:member")`."""

    def make(user: str, *, org: str | None = None, role: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user,
            "sid": "sess_" + uuid.uuid4().hex[:10],
            "azp": APP_ORIGIN,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 120,
            "v": 2,
        }
        if org is not None:
            body["o"] = {"id": org, "rol": role or "member", "slg": org.lower()}
        body.update(claims)
        return sign(clerk_key, {k: v for k, v in body.items() if v is not None})

    return make


@pytest.fixture
def unique_name() -> str:
    """A short name no other test uses, for tables, queues and containers (letters and digits)."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def unique_user() -> str:
    """A Clerk-shaped user id no other test uses (so each test starts in a fresh personal tenant)."""
    return "user_" + uuid.uuid4().hex[:16]


class MovableClock:
    """A wall clock that tests move by hand; each reading also ticks 1 ms, so events keep their order."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        """The clock's time."""
        self.current += timedelta(milliseconds=1)
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move forward."""
        self.current += delta


@pytest.fixture
def fast_host_json(tmp_path: Path) -> Path:
    """A host.json with short polling, a 1 s retry delay and maxDequeueCount 3."""
    path = tmp_path / "host.json"
    path.write_text(json.dumps(FAST_HOST_JSON), encoding="utf-8")
    return path


@pytest.fixture
def devhost(azurite: Azurite, tmp_path: Path, fast_host_json: Path) -> Iterator[Callable[..., DevHostProcess]]:
    """Factory: `devhost("tests.devhost.apps.x:app", EXTRA="1")` returns a started process.

    Every process is killed at the end of the test, failed or not; on failure its log is printed.
    """
    started: list[DevHostProcess] = []

    def make(app: str, *, start: bool = True, **extra_env: str) -> DevHostProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AzureWebJobs", "TOKENROUTE_"))}
        env.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "DEVHOST_TEST_RECORD": str(tmp_path / "records.jsonl"),
                "PYTHONUNBUFFERED": "1",
                "TOKENROUTE_LOG_LEVEL": "INFO",
            }
        )
        env.update(extra_env)
        process = DevHostProcess(
            app=app,
            port=free_ports(1)[0],
            env=env,
            log_path=tmp_path / "devhost.log",
            record_path=tmp_path / "records.jsonl",
            host_json=fast_host_json,
        )
        started.append(process)
        return process.start() if start else process

    try:
        yield make
    finally:
        for process in started:
            process.kill()
            # pytest shows captured output only for failed tests: the logs explain the failure.
            print(process.all_logs())


@pytest.fixture
def make_stack(azurite: Azurite, devhost: Callable[..., DevHostProcess], tmp_path: Path) -> Iterator[StackFactory]:
    """Factory: `make_stack(EXTRA_SETTING="x")` starts `function_app:app` in a local host process."""
    clients: list[httpx.Client] = []

    def make(**env: str) -> Stack:
        environ = settings_environ(
            azurite.connection_string,
            LOCAL_SECRETS_PATH=str(tmp_path / "secrets.json"),
            TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS="true",
            **env,
        )
        services = Services(load_settings(environ, local_settings=None))
        seeded = seed_dev_tenant(services, tmp_path / "dev.json")
        host = devhost("function_app:app", **environ)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{host.port}", headers={"Authorization": f"Bearer {seeded.api_key}"}, timeout=30
        )
        clients.append(client)

        def restart() -> None:
            host.kill()
            host.start()

        return Stack(host=host, client=client, seeded=seeded, services=services, restart=restart)

    try:
        yield make
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def stack(make_stack: StackFactory) -> Stack:
    """`function_app:app` in a local host process, with queues, and a seeded project and key."""
    return make_stack()


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    """An OpenAI-compatible server on 127.0.0.1."""
    with OpenAIStandIn() as server:
        yield server


@pytest.fixture
def clock() -> MovableClock:
    """The services' clock, moved by tests that need time to pass."""
    return MovableClock()


@pytest.fixture
def services(settings: Settings, clock: MovableClock) -> Services:
    """The services the app and the jobs run on."""
    return Services(settings, clock=clock)


@pytest.fixture
def api(settings: Settings, services: Services) -> FastAPI:
    """The application exactly as the Function App builds it."""
    return create_api(settings, services)


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that calls the ASGI app directly (lifespan run, as the host does on first request)."""
    transport = httpx.ASGITransport(app=api)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client
