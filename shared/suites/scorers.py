"""The hook through which suite content validates its scorer specs.

Cases and suites carry scorers as plain JSON objects (`{"type": "contains", ...}`); their schema
belongs to `shared.scoring`. `validate_scorers` is what suite validation calls, with the list a case
runs (the suite's defaults, then its own): it parses them with `shared.scoring` and applies the
scoring rules (e.g. a scorer that compares with the expected output needs one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from shared.scoring.combine import validate_specs
from shared.scoring.errors import SpecError
from shared.scoring.specs import parse_specs

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
    shape = check_shape(specs, has_expected)
    if shape:
        return shape
    try:
        validate_specs(parse_specs(specs), has_expected)
    except ValidationError as exc:
        return [_describe(error) for error in exc.errors(include_url=False)]
    except SpecError as exc:
        return [str(exc)]
    return []


def _describe(error: Any) -> str:
    path = "scorers"
    for part in error.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return f"{path}: {error.get('msg', 'invalid')}"
