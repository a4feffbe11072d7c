"""JSON scorers: the output parses as JSON, and validates against a tenant schema."""

from __future__ import annotations

import json
import re
from typing import Any

import referencing.exceptions
from jsonschema.exceptions import best_match

from shared.scoring import jsonschemas, patterns
from shared.scoring.results import ScoreResult, short
from shared.scoring.specs import JsonSchemaSpec, JsonValidSpec

# One Markdown code fence around the whole output, as chat models like to add: ```json ... ```.
_FENCE = re.compile(r"\A\s{0,100}```[A-Za-z0-9_-]{0,20}[ \t]{0,20}\n(?P<body>.*)\n[ \t]{0,20}```\s{0,100}\Z", re.DOTALL)


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not.
    raise _NotJson(f"{name} is not JSON")


def parse_json(output: str, *, allow_code_fence: bool) -> tuple[Any, str]:
    """The JSON value of `output` and a note on where it was found; ValueError with a short cause."""
    text = output
    where = "output"
    if allow_code_fence:
        fenced = _FENCE.match(output)
        if fenced is not None:
            text, where = fenced.group("body"), "code fence"
    if not text.strip():
        raise _NotJson("empty output")
    try:
        return json.loads(text, parse_constant=_reject_constant), where
    except json.JSONDecodeError as exc:
        raise _NotJson(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise _NotJson("not usable JSON: nested too deeply") from exc
    except ValueError as exc:  # digit limits on huge integers, our NaN refusal
        raise _NotJson(f"not usable JSON: {short(str(exc), 80)}") from exc


def score_json_valid(spec: JsonValidSpec, output: str) -> ScoreResult:
    """1 when the output is JSON (optionally inside one code fence), else 0."""
    try:
        _, where = parse_json(output, allow_code_fence=spec.allow_code_fence)
    except _NotJson as exc:
        return _result(spec, False, str(exc), "json_valid")
    return _result(spec, True, "valid JSON" + (" inside a code fence" if where == "code fence" else ""), "json_valid")


def score_json_schema(spec: JsonSchemaSpec, output: str) -> ScoreResult:
    """1 when the output is JSON that validates against the spec's schema, else 0 with the first error."""
    try:
        value, _ = parse_json(output, allow_code_fence=spec.allow_code_fence)
    except _NotJson as exc:
        return _result(spec, False, str(exc), "json_schema")
    validator = jsonschemas.make_validator(spec.json_schema, check_formats=spec.check_formats)
    try:
        with patterns.total_budget():
            error = best_match(validator.iter_errors(value))
    except patterns.PatternTimeout:
        return _result(spec, False, "schema pattern timed out", "json_schema")
    except referencing.exceptions.Unresolvable as exc:
        return _result(spec, False, f"schema reference not resolvable: {short(str(exc), 80)}", "json_schema")
    except RecursionError:
        return _result(spec, False, "schema validation nested too deeply", "json_schema")
    if error is None:
        return _result(spec, True, "matches the schema", "json_schema")
    return _result(spec, False, f"schema violation at {error.json_path}: {error.message}", "json_schema")


def _result(spec: JsonValidSpec | JsonSchemaSpec, ok: bool, reason: str, scorer: str) -> ScoreResult:
    score = 1.0 if ok else 0.0
    return ScoreResult(
        scorer=scorer, score=score, passed=score >= spec.threshold, reason=short(reason), weight=spec.weight
    )
