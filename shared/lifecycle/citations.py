"""Which runs live route decisions still cite, so retention keeps their evidence.

The answer comes from the route decisions (`DecisionStore.cited_runs`): the runs behind every
current, unexpired route of the project.
"""

from __future__ import annotations

from collections.abc import Callable

CitedRuns = Callable[[str, str], set[str]]
