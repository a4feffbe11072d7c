"""Which runs live route decisions still cite, so retention keeps their evidence.

The answer comes from the route decisions (`DecisionStore.cited_runs`): the runs behind every
current, unexpired route of the project. `nothing_cited` is for callers without decisions.
"""

from __future__ import annotations

from collections.abc import Callable

CitedRuns = Callable[[str, str], set[str]]


def nothing_cited(tenant_id: str, project_id: str) -> set[str]:
    """No run is cited (retention by age alone)."""
    del tenant_id, project_id
    return set()
