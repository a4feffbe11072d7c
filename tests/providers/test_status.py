"""Provider status: the shard worker counts every attempt per provider, model and minute, and the
status summary reads them back (Azurite, the OpenAI stand-in, the worker in this process)."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.api.app import create_api
from shared.config import Settings
from shared.credentials.store import CredentialDetails
from shared.devhost.openai_standin import OpenAIStandIn
from shared.providers.call_counts import (
    CallTally,
    ProviderCallRecord,
    call_row_key,
    decode_key_part,
    encode_key_part,
    minute_key,
)
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import Completion, FinishReason, Usage
from shared.providers.retries import call_with_retries
from shared.providers.status import Status, judge, summarize
from shared.runs.models import ItemStatus, ShardMessage, ShardStatus
from shared.runs.results import ResultStore
from shared.runs.targets import CallPolicy
from shared.services import Services
from shared.stats.percentiles import QuantileSketch
from shared.storage import check_key
from shared.tenancy.dev_seed import DevTenant, seed_dev_tenant
from shared.tenancy.records import scope_key
from tests.conftest import MovableClock
from tests.support.api import bearer
from tests.support.stack import questions

MODEL = "gpt-4o-mini"


# -- keys and the summary (no storage) -----------------------------------------------------------


def test_model_keys_are_encoded_safely_and_reversibly() -> None:
    for model in ["gpt-4o", "accounts/fireworks/models/llama#3?", "a\\b~c%d", "tab\there", "é\x85"]:
        encoded = encode_key_part(model)
        assert check_key(encoded) == encoded
        assert "~" not in encoded
        assert decode_key_part(encoded) == model
    key = call_row_key(datetime(2026, 11, 27, 18, 55, 31, tzinfo=UTC), "openai", "org/m#1", "t00-000000", 2)
    assert key == "2026-11-27T18:55Z~openai~org%2Fm%231~t00-000000~2"
    assert check_key(key) == key


def row(minute: datetime, *, calls: int, ok: int = 0, limited: int = 0, server: int = 0, latencies: Any = ()) -> Any:
    sketch = QuantileSketch.of(latencies)
    return ProviderCallRecord(
        partition_key="ten~prj",
        row_key=call_row_key(minute, "openai", MODEL, "t00-000000", 1),
        provider="openai",
        model=MODEL,
        minute=minute,
        shard_id="t00-000000",
        calls=calls,
        successes=ok,
        rate_limited=limited,
        server_errors=server,
        timeouts=0,
        other_errors=calls - ok - limited - server,
        latency=sketch.to_dict() if sketch.count else None,
        last_error_at=minute if calls > ok else None,
        last_error_class="server" if server else ("rate_limited" if limited else None),
    )


NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


def test_status_thresholds() -> None:
    recent = NOW - timedelta(minutes=3)
    # Half the calls failing in the last 15 minutes: down.
    [down] = summarize([row(recent, calls=10, ok=5, server=5, latencies=[100] * 5)], NOW)
    assert down.status is Status.DOWN
    assert down.windows["15m"].error_rate == 0.5
    assert down.windows["15m"].last_error_class == "server"
    # 429s on most calls: degraded, never down (the provider answers, it asks for less).
    [limited] = summarize([row(recent, calls=10, ok=2, limited=8, latencies=[100] * 2)], NOW)
    assert limited.status is Status.DEGRADED
    assert limited.windows["15m"].rate_limit_rate == 0.8
    assert any("rate limited on 80%" in reason for reason in limited.reasons)
    # Too few calls prove nothing.
    [few] = summarize([row(recent, calls=4, ok=0, server=4)], NOW)
    assert few.status is Status.OK
    assert few.windows["15m"].error_rate == 1.0
    # An old outage is in the 24h window only, not in the status.
    [old] = summarize([row(NOW - timedelta(hours=5), calls=10, ok=0, server=10)], NOW)
    assert old.status is Status.OK
    assert old.windows["1h"].calls == 0
    assert old.windows["24h"].server_errors == 10


def test_a_doubled_p95_against_the_day_before_is_degraded() -> None:
    before = row(NOW - timedelta(hours=3), calls=40, ok=40, latencies=[200.0] * 40)
    slow = row(NOW - timedelta(minutes=2), calls=30, ok=30, latencies=[450.0] * 30)
    [status] = summarize([before, slow], NOW)
    assert status.status is Status.DEGRADED
    assert "2.2x" in status.reasons[0]
    # The same latency as before is fine.
    same = row(NOW - timedelta(minutes=2), calls=30, ok=30, latencies=[210.0] * 30)
    assert summarize([before, same], NOW)[0].status is Status.OK
    # The 24h window merges both minutes' sketches: 70 values, its p50 is the slower group's (rank 34).
    assert status.windows["24h"].calls == 70
    p50 = status.windows["24h"].p(0.5)
    assert p50 is not None
    assert abs(p50 - 200) <= 2


def test_the_tally_counts_by_class_and_minute_and_rows_repeat_only_when_changed() -> None:
    clock = MovableClock()
    clock.current = NOW
    tally = CallTally(clock)
    calls = tally.for_model("openai", MODEL)
    assert tally.for_model("openai", MODEL) is calls
    calls.succeeded(120.0)
    calls.failed(ErrorKind.RATE_LIMIT, 429)
    calls.failed(ErrorKind.TRANSIENT, 503)
    calls.failed(ErrorKind.TRANSIENT, None)  # a connection reset: no status, so "other"
    clock.advance(timedelta(minutes=1))
    calls.failed(ErrorKind.TIMEOUT, None)
    taken = tally.take_changed("ten", "prj", "t00-000000", 1)
    first, second = sorted((record for _, record in taken), key=lambda r: r.row_key)
    counts = (first.calls, first.successes, first.rate_limited, first.server_errors, first.other_errors)
    assert counts == (4, 1, 1, 1, 1)
    assert first.last_error_class == "other"
    assert first.latency is not None
    assert (second.calls, second.timeouts, second.latency) == (1, 1, None)
    assert tally.take_changed("ten", "prj", "t00-000000", 1) == []
    CallTally.mark_changed(taken[:1])
    assert len(tally.take_changed("ten", "prj", "t00-000000", 1)) == 1
    # Five attempts, three of them errors (5xx, connection, timeout) and one rate limit: down.
    [both] = summarize([first, second], NOW + timedelta(minutes=2))
    assert (both.windows["15m"].errors, both.windows["15m"].rate_limited) == (3, 1)
    assert judge(both.windows["15m"], None)[0] is both.status is Status.DOWN


async def test_the_retry_loop_reports_every_attempt_and_retries_as_before() -> None:
    clock = MovableClock()
    calls = CallTally(clock).for_model("openai", MODEL)
    failures = [
        ProviderError(ErrorKind.RATE_LIMIT, "slow down", provider="openai", status=429, retry_after_s=0.0),
        ProviderError(ErrorKind.TRANSIENT, "bad gateway", provider="openai", status=502),
    ]
    answer = Completion(
        text="A",
        finish_reason=FinishReason.STOP,
        finish_reason_raw="stop",
        usage=Usage(),
        latency_ms=42.0,
        ttft_ms=None,
        request_id=None,
        response_id=None,
        model_version=None,
    )

    async def attempt() -> Completion:
        if failures:
            raise failures.pop(0)
        return answer

    async def no_wait(_: float) -> None:
        return None

    completion = await call_with_retries(attempt, budget_s=10, max_retries=3, sleep=no_wait, observe=calls)
    assert completion.retries == 2
    [minute] = calls.minutes.values()
    assert (minute.calls, minute.successes, minute.rate_limited, minute.server_errors) == (3, 1, 1, 1)
    assert minute.latency.quantile(0.5) == pytest.approx(42.0, rel=0.01)

    # An attempt cut off by the call budget is a timeout; the caller still gets its timeout error.
    async def hang() -> Completion:
        await asyncio.sleep(10)
        return answer

    with pytest.raises(ProviderError) as caught:
        await call_with_retries(hang, budget_s=0.05, max_retries=3, sleep=no_wait, observe=calls)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert (minute.calls, minute.timeouts, minute.last_error_class) == (4, 1, "timeout")


# -- the worker against the stand-in -------------------------------------------------------------


@pytest.fixture
def services(settings: Settings, clock: MovableClock) -> Services:
    """Services that may call the stand-in on 127.0.0.1, with one retry (short back-off) per item."""
    allowed = settings.model_copy(update={"allow_private_endpoints": True})
    return Services(allowed, clock=clock, call_policy=CallPolicy(max_retries=1))


@pytest.fixture
async def api_client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, on the services above."""
    api: FastAPI = create_api(settings, services)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client,
    ):
        yield client


@dataclass
class Project:
    services: Services
    client: httpx.AsyncClient
    seeded: DevTenant
    credential: str

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.seeded.project_id}{path}"

    async def run(self, n: int, concurrency: int = 4) -> tuple[str, list[ShardMessage]]:
        """Create a suite of n questions and a run on the stand-in; returns the run and its shard messages."""
        headers = bearer(self.seeded.api_key)
        suite = (await self.client.post(self.url("/suites"), json={"name": "s"}, headers=headers)).json()["id"]
        created = await self.client.post(self.url(f"/suites/{suite}/versions"), json=questions(n), headers=headers)
        target = {"provider": "openai", "model": MODEL, "credential_id": self.credential}
        version = created.json()["version"]
        body = {"suite_id": suite, "version": version, "targets": [target], "concurrency": concurrency}
        response = await self.client.post(self.url("/runs"), json=body, headers=headers)
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        shards = self.services.runs.shards_of(self.seeded.tenant_id, self.seeded.project_id, run_id)
        messages = [
            ShardMessage(
                tenant_id=self.seeded.tenant_id, project_id=self.seeded.project_id, run_id=run_id, shard_id=s.row_key
            )
            for s in shards
        ]
        return run_id, messages

    async def work(self, messages: list[ShardMessage]) -> None:
        for message in messages:
            await self.services.shard_worker.handle(message)

    def rows(self) -> list[ProviderCallRecord]:
        since = self.services.clock.now() - timedelta(hours=1)
        return self.services.provider_status.read(self.seeded.tenant_id, self.seeded.project_id, since)

    def totals(self) -> dict[str, int]:
        rows = self.rows()
        fields = ("calls", "successes", "rate_limited", "server_errors", "timeouts", "other_errors")
        return {name: sum(getattr(r, name) for r in rows) for name in fields}


@pytest.fixture
async def project(services: Services, api_client: httpx.AsyncClient, standin: OpenAIStandIn, tmp_path: Path) -> Project:
    seeded = seed_dev_tenant(services, tmp_path / "dev.json")
    record = services.credentials.create(
        seeded.tenant_id,
        seeded.project_id,
        CredentialDetails(provider="openai", name="stand-in", base_url=standin.base_url),
        "sk-" + "s" * 24,
        "tests",
    )
    return Project(services, api_client, seeded, record.row_key)


async def test_429s_and_500s_are_counted_per_attempt_and_degrade_the_status(
    project: Project, standin: OpenAIStandIn
) -> None:
    standin.behaviour.rate_limit_first = 6
    standin.behaviour.fail_prompts = {"Question 3:", "Question 7:"}
    _, messages = await project.run(20)
    await project.work(messages)

    totals = project.totals()
    assert totals["calls"] == standin.total  # every HTTP attempt, retried ones included
    assert totals["rate_limited"] == 6
    assert totals["successes"] == 18  # the 18 items that answered, once each
    assert totals["server_errors"] == standin.total - 6 - 18
    assert totals["server_errors"] >= 2  # each failing prompt answered 500 at least once
    assert totals["timeouts"] == totals["other_errors"] == 0

    [model] = project.services.provider_status.status(
        project.seeded.tenant_id, project.seeded.project_id, project.services.clock.now()
    )
    assert (model.provider, model.model, model.status) == ("openai", MODEL, Status.DEGRADED)
    recent = model.windows["15m"]
    assert recent.calls == standin.total
    assert recent.last_error_class in ("server", "rate_limited")
    assert any("rate limited" in reason for reason in model.reasons)


async def test_a_provider_failing_every_call_is_down(project: Project, standin: OpenAIStandIn) -> None:
    standin.behaviour.fail_prompts = {"Question"}
    _, messages = await project.run(6)
    await project.work(messages)
    [model] = project.services.provider_status.status(
        project.seeded.tenant_id, project.seeded.project_id, project.services.clock.now()
    )
    assert model.status is Status.DOWN
    assert model.windows["15m"].server_errors == standin.total == 12  # 6 items, one retry each
    assert model.windows["15m"].error_rate == 1.0
    assert model.windows["15m"].p(0.5) is None  # no success, no latency


async def test_a_healthy_run_is_ok_with_the_latency_of_its_results(project: Project, standin: OpenAIStandIn) -> None:
    standin.behaviour.latency_s = 0.03
    run_id, messages = await project.run(30)
    await project.work(messages)
    [model] = project.services.provider_status.status(
        project.seeded.tenant_id, project.seeded.project_id, project.services.clock.now()
    )
    assert model.status is Status.OK
    assert model.reasons == ()
    recent = model.windows["15m"]
    assert (recent.calls, recent.successes, recent.errors, recent.rate_limited) == (30, 30, 0, 0)
    # The sketch's percentiles are those of the stored results' latencies (within its 1%), which
    # cannot be below the stand-in's configured 30 ms.
    rows = ResultStore(project.services.storage).all_of_run(project.seeded.tenant_id, project.seeded.project_id, run_id)
    latencies = sorted(r.latency_ms for r in rows if r.status is ItemStatus.OK and r.latency_ms is not None)
    assert len(latencies) == 30
    for q in (0.5, 0.95):
        exact = latencies[math.floor(q * (len(latencies) - 1))]
        measured = recent.p(q)
        assert measured is not None
        assert abs(measured - exact) <= 0.011 * exact
    assert latencies[0] >= 30


async def test_a_redelivered_shard_counts_only_its_own_calls(project: Project, standin: OpenAIStandIn) -> None:
    _, messages = await project.run(20)
    await project.work(messages)
    assert project.totals()["calls"] == standin.total == 20

    # A duplicate delivery of the finished shard calls nothing and writes nothing.
    await project.work(messages)
    assert project.totals()["calls"] == standin.total == 20

    # A worker that died before flushing its last rows: the redelivery calls the missing items again,
    # as a new execution with rows of its own; every real attempt is counted exactly once.
    message = messages[0]
    services = project.services
    results = ResultStore(services.storage)
    stored = results.finished(message.tenant_id, message.project_id, message.run_id, message.shard_id)
    for key in sorted(stored)[:5]:
        results.table.delete(stored[key].partition_key, key)
    [shard] = [s for s in services.runs.shards_of(message.tenant_id, message.project_id, message.run_id)]
    services.runs.save_shard(shard.model_copy(update={"status": ShardStatus.RUNNING}))
    await project.work([message])
    assert standin.total == 25
    assert project.totals()["calls"] == 25
    executions: Counter[str] = Counter()
    for stored_row in project.rows():
        executions[stored_row.row_key.rsplit("~", 1)[1]] += stored_row.calls
    assert set(executions) == {"1", "2"}
    assert sum(executions.values()) == 25

    # Writing the same cumulative rows again (a retried flush) changes nothing.
    services.provider_status.write(project.rows())
    assert project.totals()["calls"] == 25


async def test_rows_older_than_seven_days_are_pruned(services: Services, clock: MovableClock) -> None:
    services.ensure_storage()
    tenant, project = "ten_" + "a" * 20, "prj_" + "p" * 20
    fresh = row(clock.now(), calls=3, ok=3, latencies=[10, 20, 30])
    stale = row(clock.now() - timedelta(days=8), calls=2, ok=2, latencies=[10, 20])
    for record in (fresh, stale):
        record.partition_key = scope_key(tenant, project)
    services.provider_status.write([fresh, stale])
    assert services.provider_status.prune() >= 1
    left = services.provider_status.read(tenant, project, clock.now() - timedelta(days=30))
    assert [r.row_key for r in left] == [fresh.row_key]
    assert minute_key(left[0].minute) == fresh.row_key.split("~", 1)[0]
