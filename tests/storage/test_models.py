"""ModelTable: pydantic records to entities and back, against Azurite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

from shared.storage.account import StorageAccount
from shared.storage.errors import ConcurrencyError, NotFound
from shared.storage.models import ModelTable, TableModel, to_entity


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"


class Target(BaseModel):
    provider: str
    model: str


class RunRecord(TableModel):
    status: Status
    created_at: datetime
    counts: dict[str, int] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    target: Target | None = None
    note: str | None = None
    total_tokens: int = 0
    cost: Decimal = Decimal("0")
    trace_id: UUID | None = None


@pytest.fixture
def runs(account: StorageAccount, unique_name: str) -> ModelTable[RunRecord]:
    table = ModelTable(account, unique_name, RunRecord)
    table.ensure()
    return table


def record(row: str = "r1", **changes: object) -> RunRecord:
    base = RunRecord(
        partition_key="tenant1:project1",
        row_key=row,
        status=Status.QUEUED,
        created_at=datetime(2025, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=-4))),
        counts={"passed": 3, "failed": 1},
        tags=["nightly", "ä"],
        target=Target(provider="sandbox", model="sim-1"),
        total_tokens=6_000_000_000,
        cost=Decimal("0.0125"),
        trace_id=UUID("12345678-1234-5678-1234-567812345678"),
    )
    return base.model_copy(update=changes)


def test_round_trip_keeps_every_field(runs: ModelTable[RunRecord]) -> None:
    original = record()
    runs.insert(original)
    loaded = runs.get("tenant1:project1", "r1")
    assert loaded.model_dump() == original.model_dump()
    assert loaded.created_at.tzinfo is UTC
    assert loaded.etag is not None
    assert original.etag is None


def test_entity_shape() -> None:
    entity = to_entity(record())
    assert entity["PartitionKey"] == "tenant1:project1"
    assert entity["RowKey"] == "r1"
    assert entity["status"] == "queued"
    assert entity["counts"] == '{"passed":3,"failed":1}'
    assert entity["target"] == '{"provider":"sandbox","model":"sim-1"}'
    assert entity["created_at"] == datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    assert entity["cost"] == "0.0125"
    assert "note" not in entity  # None is not stored
    with pytest.raises(ValueError, match="naive"):
        to_entity(record(created_at=datetime(2025, 1, 1)))  # naive on purpose


def test_guarded_update_with_the_etag_of_the_read(runs: ModelTable[RunRecord]) -> None:
    runs.insert(record())
    mine = runs.get("tenant1:project1", "r1")
    theirs = runs.get("tenant1:project1", "r1")
    assert mine.etag is not None
    assert theirs.etag is not None
    runs.update(mine.model_copy(update={"status": Status.RUNNING}), mine.etag)
    with pytest.raises(ConcurrencyError):
        runs.update(theirs.model_copy(update={"note": "lost"}), theirs.etag)
    stored = runs.get("tenant1:project1", "r1")
    assert stored.status is Status.RUNNING
    assert stored.note is None


def test_replace_upsert_clears_fields_and_queries_page(runs: ModelTable[RunRecord]) -> None:
    runs.upsert(record(note="first"))
    runs.upsert(record(note=None))
    assert runs.get("tenant1:project1", "r1").note is None
    assert runs.upsert_many(record(f"r{i:03d}") for i in range(120)) == 2
    page = runs.list_prefix("tenant1:project1", "r0", page_size=50)
    assert len(page.items) == 50
    assert all(isinstance(item, RunRecord) for item in page.items)
    assert page.next_cursor is not None
    queued = runs.query(
        "PartitionKey eq @pk and status eq @status",
        {"pk": "tenant1:project1", "status": Status.QUEUED},
        page_size=1000,
    )
    assert len(queued.items) == 121  # r1 and r000-r119


def test_missing_and_delete(runs: ModelTable[RunRecord]) -> None:
    assert runs.find("tenant1:project1", "nope") is None
    with pytest.raises(NotFound):
        runs.get("tenant1:project1", "nope")
    runs.insert(record())
    runs.delete("tenant1:project1", "r1")
    runs.delete("tenant1:project1", "r1")
    assert runs.find("tenant1:project1", "r1") is None
