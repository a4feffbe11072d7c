"""Cutting runs into shards."""

from __future__ import annotations

from shared.runs.sharding import ShardPlan, plan_shards, shard_id, target_id


def test_every_case_of_every_target_is_in_exactly_one_shard() -> None:
    plans = plan_shards(case_count=250, target_count=3, shard_cases=100)
    assert len(plans) == 9
    for target in range(3):
        covered = [c for p in plans if p.target_index == target for c in range(p.case_start, p.case_end)]
        assert covered == list(range(250))


def test_ids_are_stable_and_sortable() -> None:
    assert target_id(3) == "t03"
    assert shard_id(1, 200) == "t01-000200"
    assert ShardPlan(1, 200, 250).shard_id == "t01-000200"
    plans = plan_shards(case_count=30, target_count=2, shard_cases=10)
    assert [p.shard_id for p in plans] == sorted(p.shard_id for p in plans)


def test_nothing_to_shard() -> None:
    assert plan_shards(0, 3) == []
    assert plan_shards(10, 0) == []
