"""Table repository against Azurite: batches, paging, parameterized filters, ETags, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.storage.account import StorageAccount
from shared.storage.errors import ConcurrencyError, Conflict, InvalidCursor, InvalidKey, NotFound
from shared.storage.tables import (
    MAX_BATCH_OPERATIONS,
    Operation,
    Table,
    check_key,
    float_literal,
    int_literal,
    next_code_point_prefix,
    plan_batches,
    where,
)

INJECTION = "x' or PartitionKey ne 'x"


@pytest.fixture
def table(account: StorageAccount, unique_name: str) -> Table:
    """A fresh, created table."""
    created = Table(account, unique_name)
    created.ensure()
    return created


def entities(partition: str, count: int) -> list[dict[str, object]]:
    return [{"PartitionKey": partition, "RowKey": f"{i:05d}", "n": i} for i in range(count)]


# -- batches ------------------------------------------------------------------------------------


def test_250_entities_in_one_partition_take_exactly_three_transactions(table: Table) -> None:
    transactions = table.upsert_many(entities("p1", 250))
    assert transactions == 3
    stored = list(table.query_all("PartitionKey eq @pk", {"pk": "p1"}))
    assert sorted(entity["n"] for entity in stored) == list(range(250))


def test_mixed_partitions_are_split_per_partition(table: Table) -> None:
    # Interleaved on purpose: grouping must not depend on input order.
    a, b, c = entities("a", 150), entities("b", 30), entities("c", 101)
    mixed: list[Operation] = []
    for i in range(150):
        for group in (a, b, c):
            if i < len(group):
                mixed.append(("upsert", group[i]))
    assert table.write_batch(mixed) == 2 + 1 + 2
    for partition, count in (("a", 150), ("b", 30), ("c", 101)):
        assert len(list(table.query_all("PartitionKey eq @pk", {"pk": partition}))) == count


def test_batch_plan_caps_operations_size_and_refuses_duplicates() -> None:
    plan = plan_batches(("upsert", entity) for entity in entities("p", 201))
    assert [len(batch) for batch in plan] == [MAX_BATCH_OPERATIONS, MAX_BATCH_OPERATIONS, 1]
    # 100 entities of ~60 KB would be ~6 MB in one transaction; the 4 MiB body limit splits them.
    big = [{"PartitionKey": "p", "RowKey": f"{i:03d}", "blob": "x" * 60_000} for i in range(100)]
    assert len(plan_batches(("upsert", entity) for entity in big)) >= 2
    with pytest.raises(ValueError, match="twice"):
        plan_batches(
            [("upsert", {"PartitionKey": "p", "RowKey": "1"}), ("delete", {"PartitionKey": "p", "RowKey": "1"})]
        )


def test_batch_insert_conflict_and_delete(table: Table) -> None:
    table.write_batch([("insert", {"PartitionKey": "p", "RowKey": "1", "v": 1})])
    with pytest.raises(Conflict):
        table.write_batch([("insert", {"PartitionKey": "p", "RowKey": "1", "v": 2})])
    assert table.write_batch([("delete", {"PartitionKey": "p", "RowKey": "1"})]) == 1
    assert table.find("p", "1") is None
    assert table.write_batch([]) == 0


# -- paging -------------------------------------------------------------------------------------


def test_paging_returns_every_entity_exactly_once(table: Table) -> None:
    table.upsert_many(entities("p", 250))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = table.list_partition("p", page_size=40, cursor=cursor)
        pages += 1
        assert len(page.items) <= 40
        seen.extend(entity.row_key for entity in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 7
    assert len(seen) == 250
    assert sorted(seen) == [f"{i:05d}" for i in range(250)]


def test_tampered_or_foreign_cursors_are_refused(table: Table) -> None:
    table.upsert_many(entities("p", 10))
    table.upsert_many(entities("q", 10))
    cursor = table.list_partition("p", page_size=3).next_cursor
    assert cursor is not None
    flipped = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    for bad in (flipped, cursor[:-2], cursor + "x", "not a cursor!", "", "A" * 9000):
        with pytest.raises(InvalidCursor):
            table.list_partition("p", page_size=3, cursor=bad)
    with pytest.raises(InvalidCursor, match="another query"):
        table.list_partition("q", page_size=3, cursor=cursor)
    # The untouched cursor still works.
    assert len(table.list_partition("p", page_size=3, cursor=cursor).items) == 3


# -- filters are parameterized ------------------------------------------------------------------


def test_injection_attempt_in_a_parameter_is_data(table: Table) -> None:
    table.upsert_many([*entities("x", 3), *entities("y", 3)])
    assert table.query("PartitionKey eq @pk", {"pk": INJECTION}).items == []
    table.upsert({"PartitionKey": INJECTION, "RowKey": "only", "n": 1})
    found = table.query("PartitionKey eq @pk", {"pk": INJECTION}).items
    assert [(entity.partition_key, entity.row_key) for entity in found] == [(INJECTION, "only")]
    assert table.list_prefix("x", INJECTION).items == []
    either = table.query("(PartitionKey eq @a) or (PartitionKey eq @b)", {"a": INJECTION, "b": "y"}, page_size=1000)
    assert sorted(entity.partition_key for entity in either.items) == [INJECTION, "y", "y", "y"]
    assert table.get(INJECTION, "only")["n"] == 1


def test_templates_refuse_literals_and_check_parameters() -> None:
    for template in ("PartitionKey eq 'x'", 'PartitionKey eq "x"', "PartitionKey eq @pk; drop"):
        with pytest.raises(ValueError, match="may not contain"):
            where(template, pk="x")
    with pytest.raises(ValueError, match="no value"):
        where("PartitionKey eq @pk")
    with pytest.raises(ValueError, match="without a placeholder"):
        where("PartitionKey eq @pk", pk="x", rk="y")


def test_numbers_become_literals_and_strings_parameters() -> None:
    built = where(
        "(PartitionKey eq @pk) and n ge @small and big lt @big and ok eq @flag and f gt @f", pk="p", small=1,
        big=5_000_000_000, flag=True, f=1.0,
    )  # fmt: skip
    assert built.text == "( PartitionKey eq @pk ) and n ge 1 and big lt 5000000000L and ok eq true and f gt 1.0"
    assert built.parameters == {"pk": "p"}
    assert int_literal(0) == "0"
    assert int_literal(-(2**31)) == "-2147483648"
    assert int_literal(2**31) == "2147483648L"
    with pytest.raises(TypeError):
        int_literal(True)
    with pytest.raises(TypeError):
        int_literal("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Int64"):
        int_literal(2**63)
    assert float_literal(1e-7) == "0.0000001"
    with pytest.raises(ValueError, match="NaN"):
        float_literal(float("nan"))
    with pytest.raises(ValueError, match="naive"):
        where("t ge @t", t=datetime(2024, 1, 1))  # naive on purpose


def test_int64_values_round_trip_and_filter(table: Table) -> None:
    base = 5_000_000_000
    table.upsert_many({"PartitionKey": "p", "RowKey": f"{i}", "big": base + i, "small": i} for i in range(5))
    entity = table.get("p", "3")
    assert entity["big"] == base + 3
    assert type(entity["big"]) is int
    above = table.query("PartitionKey eq @pk and big gt @v", {"pk": "p", "v": base + 2}).items
    assert sorted(e.row_key for e in above) == ["3", "4"]
    # 0 and 1 would become false/true through the SDK's own substitution.
    ones = table.query("PartitionKey eq @pk and small eq @v", {"pk": "p", "v": 1}).items
    assert [e.row_key for e in ones] == ["1"]


def test_datetimes_are_stored_as_aware_utc(table: Table) -> None:
    local = datetime(2025, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    table.upsert({"PartitionKey": "p", "RowKey": "t", "at": local})
    stored = table.get("p", "t")
    assert stored["at"] == local
    assert stored["at"].tzinfo is UTC
    assert type(stored["at"]) is datetime
    assert stored.timestamp is not None
    later = table.query("PartitionKey eq @pk and at gt @t", {"pk": "p", "t": local - timedelta(minutes=1)}).items
    assert [e.row_key for e in later] == ["t"]
    with pytest.raises(ValueError, match="naive"):
        table.upsert({"PartitionKey": "p", "RowKey": "n", "at": datetime(2025, 1, 1)})  # naive on purpose


def test_prefix_queries(table: Table) -> None:
    for key in ("run1-a", "run1-b", "run10-a", "run2-a", "run1"):
        table.upsert({"PartitionKey": "p", "RowKey": key})
    assert [e.row_key for e in table.list_prefix("p", "run1-").items] == ["run1-a", "run1-b"]
    assert [e.row_key for e in table.list_prefix("p", "run1").items] == ["run1", "run1-a", "run1-b", "run10-a"]
    assert next_code_point_prefix("ab") == "ac"
    assert next_code_point_prefix("a\U0010ffff") == "b"
    assert next_code_point_prefix("\ud7ff") == "\ue000"


def test_select_limits_properties(table: Table) -> None:
    table.upsert({"PartitionKey": "p", "RowKey": "1", "a": 1, "b": 2})
    item = table.list_partition("p", select=["RowKey", "a"]).items[0]
    assert "b" not in item
    assert item["a"] == 1
    with pytest.raises(ValueError, match="property name"):
        table.list_partition("p", select=["a,b"])


# -- single-entity writes -----------------------------------------------------------------------


def test_ensure_is_idempotent(account: StorageAccount, unique_name: str) -> None:
    table = Table(account, unique_name)
    table.ensure()
    table.ensure()
    table.upsert({"PartitionKey": "p", "RowKey": "r"})
    table.ensure()
    assert table.find("p", "r") is not None


def test_stale_etag_raises_and_overwrites_nothing(table: Table) -> None:
    table.insert({"PartitionKey": "run", "RowKey": "1", "status": "queued"})
    first = table.get("run", "1")
    second = table.get("run", "1")
    assert first.etag is not None
    assert second.etag is not None
    new_etag = table.update({**first, "status": "running"}, first.etag)
    assert new_etag != first.etag
    with pytest.raises(ConcurrencyError):
        table.update({**second, "status": "cancelled"}, second.etag)
    assert table.get("run", "1")["status"] == "running"
    with pytest.raises(ConcurrencyError):
        table.delete("run", "1", etag=second.etag)
    assert table.find("run", "1") is not None
    table.delete("run", "1", etag=new_etag)
    assert table.find("run", "1") is None


def test_insert_conflict_missing_reads_and_deletes(table: Table) -> None:
    table.insert({"PartitionKey": "p", "RowKey": "r", "v": 1})
    with pytest.raises(Conflict):
        table.insert({"PartitionKey": "p", "RowKey": "r", "v": 2})
    with pytest.raises(NotFound):
        table.get("p", "missing")
    assert table.find("p", "missing") is None
    assert table.find("p", "a/b") is None  # a key that cannot exist is simply not found
    table.delete("p", "missing")
    with pytest.raises(NotFound):
        table.update({"PartitionKey": "p", "RowKey": "missing"}, "W/\"datetime'2020-01-01T00%3A00%3A00Z'\"")


def test_upsert_merge_and_replace(table: Table) -> None:
    table.upsert({"PartitionKey": "p", "RowKey": "r", "a": 1, "b": 2})
    table.upsert({"PartitionKey": "p", "RowKey": "r", "a": 3})
    assert table.get("p", "r") == {"PartitionKey": "p", "RowKey": "r", "a": 3, "b": 2}
    table.upsert({"PartitionKey": "p", "RowKey": "r", "a": 4}, mode="replace")
    assert table.get("p", "r") == {"PartitionKey": "p", "RowKey": "r", "a": 4}


@pytest.mark.parametrize(
    "key",
    ["a/b", "a#b", "a\\b", "a?b", "a\x00b", "a\tb", "a\nb", "\x7f", "a\x85b", "", "k" * 1025, "é" * 513, "\ud800"],
)
def test_check_key_refuses(key: str) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)


def test_check_key_accepts_and_writes_refuse(table: Table) -> None:
    for key in ("k" * 1024, INJECTION, "tenant_1:project-2.run~3", "émoji ✓"):
        assert check_key(key) == key
    with pytest.raises(InvalidKey):
        table.upsert({"PartitionKey": "a/b", "RowKey": "r"})
    with pytest.raises(InvalidKey):
        table.insert({"PartitionKey": "p", "RowKey": "a#b"})
    with pytest.raises(InvalidKey):
        table.write_batch([("upsert", {"PartitionKey": "p", "RowKey": "a?b"})])
    with pytest.raises(InvalidKey):
        table.upsert({"RowKey": "r"})
