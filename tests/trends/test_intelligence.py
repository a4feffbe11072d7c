"""Cross-tenant intelligence on real Azurite: opted-in projects' rolled-up runs, published per public model.

Every test uses its own models: publications read every opted-in project of the session's storage.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.credentials.records import CredentialRecord
from shared.ids import new_id
from shared.services import Services
from shared.storage.catalog import INTELLIGENCE_TABLE
from shared.tenancy.records import scope_key
from shared.trends.intelligence import MIN_TENANTS, PUBLICATION_PREFIX, IntelligenceCellRecord
from tests.conftest import MovableClock
from tests.routing.seed import SeedTarget, seed_run
from tests.trends.drift_seed import roll_up


@pytest.fixture(autouse=True)
def storage(services: Services) -> None:
    """Every table this module touches."""
    services.ensure_storage()


def _project(services: Services, *, opt_in: bool) -> tuple[str, str]:
    """A new tenant with one project, opted in or not."""
    tenant_id = new_id("ten")
    record = services.projects.create(tenant_id, "project", "user_seed")
    if opt_in:
        services.projects.update(record, name=record.name, aggregate_opt_in=True, retention_days=None)
    return tenant_id, record.row_key


def _benchmark(
    services: Services, clock: MovableClock, project: tuple[str, str], targets: list[SeedTarget], cases: int = 20
) -> None:
    """One finished run of the targets, rolled up into the project's daily points."""
    roll_up(services, clock, *project, seed_run(services, *project, targets, cases=cases))


def _published(services: Services) -> dict[tuple[str, str], IntelligenceCellRecord]:
    _, cells = services.intelligence.current()
    return {(cell.provider, cell.model): cell for cell in cells}


def _stored_intelligence(services: Services) -> str:
    client = services.storage.table_service.get_table_client(INTELLIGENCE_TABLE)
    return "\n".join(repr(dict(entity)) for entity in client.list_entities())


def test_a_cell_needs_five_opted_in_tenants_and_never_counts_the_others(
    services: Services, clock: MovableClock
) -> None:
    model = SeedTarget("openai", "gpt-4.1-nano", passes=15, latency_ms=400)
    opted = [_project(services, opt_in=True) for _ in range(MIN_TENANTS - 1)]
    outsider = _project(services, opt_in=False)
    for project in opted:
        _benchmark(services, clock, project, [model])
    # The project that did not opt in ran the model too (with another sample count, to tell).
    _benchmark(services, clock, outsider, [model], cases=37)
    clock.advance(timedelta(days=1))  # yesterday is a complete day of the window

    services.intelligence.publish()
    # Five tenants ran it, but only four opted in: nothing is published.
    assert ("openai", "gpt-4.1-nano") not in _published(services)

    fifth = _project(services, opt_in=True)
    _benchmark(services, clock, fifth, [model])
    clock.advance(timedelta(days=1))
    publication = services.intelligence.publish()
    cell = _published(services)[("openai", "gpt-4.1-nano")]
    assert (cell.tenants, cell.samples) == (MIN_TENANTS, MIN_TENANTS * 20)
    assert cell.latency_p50_ms is not None
    assert 395 <= cell.latency_p50_ms <= 410  # 400 ms plus 0-4 (the seed's spread), within 1%
    assert cell.error_rate == 0.0
    pointer, _ = services.intelligence.current()
    assert pointer is not None
    assert pointer.publication_id == publication.publication_id

    # Nothing stored or published names a tenant or project.
    stored = _stored_intelligence(services)
    for tenant_id, project_id in [*opted, outsider, fifth]:
        assert tenant_id not in stored
        assert project_id not in stored
    assert "user_seed" not in stored

    # Out of the 7-day window, the runs count no more.
    clock.advance(timedelta(days=8))
    services.intelligence.publish()
    assert ("openai", "gpt-4.1-nano") not in _published(services)


def test_only_public_models_are_published_under_the_price_tables_names(services: Services, clock: MovableClock) -> None:
    projects = [_project(services, opt_in=True) for _ in range(MIN_TENANTS)]
    targets = [
        SeedTarget("anthropic", "claude-3-5-haiku-20241022", passes=18),
        SeedTarget("openai", "gpt-4.1-mini", passes=18),
        SeedTarget("openai", "ft:gpt-4.1-mini:acme-corp::x1", passes=18),
        SeedTarget("sandbox", "sandbox/fast-accurate", passes=18),
    ]
    for project in projects:
        _benchmark(services, clock, project, targets)
    # One tenant reaches OpenAI through its own endpoint: its OpenAI numbers are not the public model's.
    services.credentials.table.insert(
        CredentialRecord(
            partition_key=scope_key(*projects[0]),
            row_key=new_id("crd"),
            provider="openai",
            name="proxy",
            fingerprint="…abcd",
            base_url="https://llm-proxy.acme.example/v1",
            secret_version="1",
            created_at=clock.now(),
            created_by="user_seed",
        )
    )
    clock.advance(timedelta(days=1))
    services.intelligence.publish()
    published = _published(services)
    assert ("anthropic", "claude-3-5-haiku") in published
    assert published[("anthropic", "claude-3-5-haiku")].tenants == MIN_TENANTS
    assert ("openai", "gpt-4.1-mini") not in published  # four tenants left
    stored = _stored_intelligence(services)
    for name in ("claude-3-5-haiku-20241022", "acme", "sandbox/fast-accurate", "llm-proxy"):
        assert name not in stored


def test_a_dominant_tenant_keeps_a_cell_unpublished(services: Services, clock: MovableClock) -> None:
    model = SeedTarget("gemini", "gemini-2.0-flash-lite", passes=10)
    projects = [_project(services, opt_in=True) for _ in range(MIN_TENANTS)]
    for index, project in enumerate(projects):
        # One tenant has 200 of the 280 samples: the cell would be mostly that tenant.
        _benchmark(services, clock, project, [model], cases=200 if index == 0 else 20)
    clock.advance(timedelta(days=1))
    services.intelligence.publish()
    assert ("gemini", "gemini-2.0-flash-lite") not in _published(services)


def test_a_publication_replaces_the_previous_one_whole(services: Services, clock: MovableClock) -> None:
    for project in [_project(services, opt_in=True) for _ in range(MIN_TENANTS)]:
        _benchmark(services, clock, project, [SeedTarget("openai", "o4-mini", passes=10)])
    clock.advance(timedelta(days=1))
    ids = [services.intelligence.publish().publication_id for _ in range(3)]
    pointer, _ = services.intelligence.current()
    assert pointer is not None
    assert (pointer.publication_id, pointer.previous_id) == (ids[2], ids[1])
    # The previous publication stays for readers mid-read; the one before it is gone.
    partitions = {
        entity["PartitionKey"]
        for entity in services.storage.table_service.get_table_client(INTELLIGENCE_TABLE).list_entities()
        if "o4-mini" in entity["RowKey"]
    }
    assert partitions == {PUBLICATION_PREFIX + ids[1], PUBLICATION_PREFIX + ids[2]}
