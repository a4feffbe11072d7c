"""Cutting a run into shards: a slice of cases for one target, one queue message each."""

from __future__ import annotations

from dataclasses import dataclass

# Cases per shard. A redelivered shard redoes only its unstored items, so size is not about redelivery:
# fewer shards mean fewer storage calls (each shard reads, writes progress and ends on its own), while
# a large run still spreads over many messages for scale-out. Items of a shard run concurrently.
SHARD_CASES = 100


@dataclass(frozen=True)
class ShardPlan:
    """One shard: target `target_index`, cases [case_start, case_end)."""

    target_index: int
    case_start: int
    case_end: int

    @property
    def shard_id(self) -> str:
        """Stable id, e.g. `t01-000025`: sortable, and valid in table keys."""
        return shard_id(self.target_index, self.case_start)


def target_id(index: int) -> str:
    """The id of the run's `index`th target: `t00`, `t01`, ..."""
    return f"t{index:02d}"


def shard_id(target_index: int, case_start: int) -> str:
    """The id of the shard of target `target_index` starting at case `case_start`."""
    return f"{target_id(target_index)}-{case_start:06d}"


def plan_shards(case_count: int, target_count: int, shard_cases: int = SHARD_CASES) -> list[ShardPlan]:
    """Every shard of the run, target by target, in case order."""
    if case_count <= 0 or target_count <= 0:
        return []
    return [
        ShardPlan(target, start, min(start + shard_cases, case_count))
        for target in range(target_count)
        for start in range(0, case_count, shard_cases)
    ]
