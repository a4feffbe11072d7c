"""The hook through which suite content validates its scorer specs.

Cases and suites carry scorers as plain JSON objects (`{"type": "contains", ...}`); their schema
belongs to `shared.scoring`. `validate_scorers` is what suite validation calls, with the list a case
runs (the suite's defaults, then its own). Until it is wired to `shared.scoring` (parse the dicts
with `specs.parse_specs`, then `combine.validate_specs`, turning their errors into messages), it
only checks the shape every spec shares (`check_shape`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ScorerValidator = Callable[[list[dict[str, Any]], bool], list[str]]
"""(specs, the case has an expected output) -> problems, each a short message; empty when valid."""


def check_shape(specs: list[dict[str, Any]], has_expected: bool) -> list[str]:
    """Problems every validator reports: a spec without a non-empty string `type`."""
    problems: list[str] = []
    for index, spec in enumerate(specs):
        kind = spec.get("type")
        if not isinstance(kind, str) or not kind.strip():
            problems.append(f"the scorer at index {index} needs a non-empty string type")
    return problems


def validate_scorers(specs: list[dict[str, Any]], has_expected: bool) -> list[str]:
    """Problems with `specs` for a case that has (or lacks) an expected output; empty when valid."""
    return check_shape(specs, has_expected)
