"""Ids: the shape every id has, and newest-first ids that sort by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.ids import is_id, new_id, newest_first_id


def test_new_ids_are_well_formed_and_distinct() -> None:
    ids = {new_id("run") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_id(value, "run") for value in ids)


def test_newest_first_ids_sort_later_times_first() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start + timedelta(milliseconds=step * 7) for step in range(200)]
    times += [start + timedelta(days=days) for days in (1, 40, 400, 20_000)]
    ids = [newest_first_id("run", at) for at in times]
    assert all(is_id(value, "run") for value in ids)
    # Later times give smaller strings; order follows time, not the random tail.
    assert sorted(ids) == list(reversed(ids))


def test_newest_first_ids_of_the_same_millisecond_differ() -> None:
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    ids = {newest_first_id("run", at) for _ in range(1000)}
    assert len(ids) == 1000
    assert len({value[: len("run_") + 9] for value in ids}) == 1
