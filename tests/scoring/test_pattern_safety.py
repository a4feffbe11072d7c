"""Tenant patterns cannot hang a worker: catastrophic backtracking times out fast and fails the score,
in a regex scorer and inside a JSON schema."""

from __future__ import annotations

import time

import pytest

from shared.scoring import patterns
from shared.scoring.scorers import score
from shared.scoring.specs import JsonSchemaSpec, RegexSpec

# (a+)+$ against a's followed by a non-matching character is exponential in a backtracking engine.
EVIL_TEXT = "a" * 5000 + "!"


def test_catastrophic_regex_times_out_fast_and_fails() -> None:
    started = time.perf_counter()
    result = score(RegexSpec(pattern="(a+)+$"), EVIL_TEXT, None)
    elapsed = time.perf_counter() - started
    assert (result.score, result.passed, result.reason) == (0.0, False, "pattern timed out")
    assert elapsed < 1.0


def test_catastrophic_fullmatch_times_out_too() -> None:
    result = score(RegexSpec(pattern="(a|aa)+", match="fullmatch"), EVIL_TEXT, None)
    assert result.reason == "pattern timed out"


def test_catastrophic_schema_pattern_times_out_and_fails() -> None:
    spec = JsonSchemaSpec(json_schema={"type": "string", "pattern": "^(a+)+$"})
    started = time.perf_counter()
    result = score(spec, f'"{EVIL_TEXT}"', None)
    assert (result.passed, result.reason) == (False, "schema pattern timed out")
    assert time.perf_counter() - started < 1.0


def test_catastrophic_pattern_properties_time_out() -> None:
    schema = {"type": "object", "patternProperties": {"^(a+)+$": {}}, "additionalProperties": False}
    result = score(JsonSchemaSpec(json_schema=schema), f'{{"{EVIL_TEXT}": 1}}', None)
    assert result.reason == "schema pattern timed out"


def test_many_slow_matches_share_one_total_budget() -> None:
    # 40 strings, each able to burn a whole 50 ms match timeout: the total budget stops at 0.5 s.
    items = ", ".join(f'"{EVIL_TEXT}"' for _ in range(40))
    spec = JsonSchemaSpec(json_schema={"type": "array", "items": {"type": "string", "pattern": "^(a+)+$"}})
    started = time.perf_counter()
    result = score(spec, f"[{items}]", None)
    assert result.reason == "schema pattern timed out"
    assert time.perf_counter() - started < patterns.TOTAL_TIMEOUT_S + 0.5


def test_budget_exhausted_before_a_match_raises() -> None:
    compiled = patterns.compile_pattern("a")
    with patterns.total_budget(0.0), pytest.raises(patterns.PatternTimeout):
        patterns.search(compiled, "a")


def test_compile_errors_are_pattern_errors() -> None:
    with pytest.raises(patterns.PatternError, match="invalid pattern"):
        patterns.compile_pattern("[")
    with pytest.raises(patterns.PatternError, match="unknown flag"):
        patterns.compile_pattern("a", "x")
    with pytest.raises(patterns.PatternError, match="longer than"):
        patterns.compile_pattern("a" * (patterns.MAX_PATTERN_CHARS + 1))
