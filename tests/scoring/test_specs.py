"""Scorer specs: the union parses by `type`, refuses unknown fields and oversized input, and a bad
regex or JSON schema is a clear error with its path, caught when the suite is created."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.scoring.specs import (
    MAX_CONTAINS_VALUES,
    ChoiceSpec,
    ContainsSpec,
    JsonSchemaSpec,
    LlmJudgeSpec,
    RegexSpec,
    parse_specs,
)

JUDGE = {"provider": "openai", "model": "gpt-4o-mini"}

EVERY_TYPE: list[dict[str, Any]] = [
    {"type": "exact"},
    {"type": "normalized_exact", "ignore_punctuation": False},
    {"type": "contains", "values": ["Paris", "paris"], "mode": "all", "case_sensitive": True},
    {"type": "regex", "pattern": r"^\d+$", "flags": "im", "match": "fullmatch"},
    {"type": "json_valid"},
    {"type": "json_schema", "schema": {"type": "object", "required": ["a"]}},
    {"type": "numeric", "abs_tolerance": 0.5},
    {"type": "choice", "choices": "ABCDEFGHIJ"},
    {"type": "llm_judge", "rubric": "Is it polite?", "judge": JUDGE, "scale": "0-10"},
    {"type": "embedding_similarity", "threshold": 0.9},
]


def _error(raw: list[dict[str, Any]]) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_specs(raw)
    return str(caught.value)


@pytest.mark.parametrize("raw", EVERY_TYPE, ids=lambda raw: raw["type"])
def test_every_type_parses_and_round_trips_through_json(raw: dict[str, Any]) -> None:
    (spec,) = parse_specs([raw])
    assert spec.type == raw["type"]
    assert spec.weight == 1.0
    # A suite version is stored as JSON: the dumped spec must validate again to the same spec.
    dumped = spec.model_dump(mode="json")
    assert parse_specs([dumped]) == [spec]


def test_binary_scorers_default_to_threshold_one() -> None:
    specs = parse_specs([{"type": t} for t in ("exact", "normalized_exact", "json_valid")])
    assert [s.threshold for s in specs] == [1.0, 1.0, 1.0]
    (embedding,) = parse_specs([{"type": "embedding_similarity"}])
    assert embedding.threshold == 0.8


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"type": "exact", "colour": "red"}, "Extra inputs are not permitted"),
        ({"type": "telepathy"}, "does not match any of the expected tags"),
        ({"type": "exact", "weight": 0}, "greater than 0"),
        ({"type": "exact", "weight": -1}, "greater than 0"),
        ({"type": "exact", "threshold": 1.5}, "less than or equal to 1"),
        ({"type": "exact", "weight": float("nan")}, "finite number"),
        ({"type": "contains", "values": []}, "at least 1 item"),
        ({"type": "contains", "values": [""]}, "at least 1 character"),
        ({"type": "contains", "values": ["x"] * (MAX_CONTAINS_VALUES + 1)}, "at most 100 items"),
        ({"type": "regex", "pattern": "a" * 1001}, "at most 1000 characters"),
        ({"type": "regex", "pattern": "(unclosed"}, "invalid pattern"),
        ({"type": "regex", "pattern": "x", "flags": "x"}, "String should match pattern"),
        ({"type": "regex", "pattern": "x", "flags": "ii"}, "flags repeat a letter"),
        ({"type": "choice", "choices": "A"}, "String should match pattern"),
        ({"type": "choice", "choices": "ABA"}, "choices repeat a letter"),
        ({"type": "numeric", "abs_tolerance": -1}, "greater than or equal to 0"),
        ({"type": "llm_judge", "rubric": "x", "judge": {"provider": "openai"}}, "non-empty string 'model'"),
        ({"type": "llm_judge", "rubric": "", "judge": JUDGE}, "at least 1 character"),
        ({"type": "llm_judge", "rubric": "x" * 8001, "judge": JUDGE}, "at most 8000 characters"),
    ],
)
def test_invalid_specs_are_refused_with_a_reason(raw: dict[str, Any], fragment: str) -> None:
    assert fragment in _error([raw])


def test_errors_carry_the_index_of_the_failing_scorer() -> None:
    message = _error([{"type": "exact"}, {"type": "regex", "pattern": "(("}])
    assert "1.regex.pattern" in message
    assert "invalid pattern" in message


def test_json_schema_is_written_schema_and_accepted_by_its_python_name_too() -> None:
    (spec,) = parse_specs([{"type": "json_schema", "schema": {"type": "integer"}}])
    assert isinstance(spec, JsonSchemaSpec)
    assert spec.json_schema == {"type": "integer"}
    assert spec.model_dump()["schema"] == {"type": "integer"}
    assert JsonSchemaSpec(json_schema={"type": "integer"}) == spec


@pytest.mark.parametrize(
    ("schema", "fragments"),
    [
        ({"$ref": "https://evil.example/schema.json"}, ["at /$ref", "only local references"]),
        (
            {"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/latest"}}},
            ["at /properties/a/$ref"],
        ),
        ({"type": "object", "properties": {"age": {"type": "integr"}}}, ["at /properties/age/type"]),
        ({"$schema": "http://example.com/my-draft", "type": "object"}, ["unsupported $schema"]),
        ({"type": "string", "pattern": "(unclosed"}, ["at /pattern", "invalid pattern"]),
        ({"patternProperties": {"(x": {}}}, ["at /patternProperties/(x"]),
        (
            {"patternProperties": {"^a": {}}, "unevaluatedProperties": False},
            ["unevaluatedProperties together with patternProperties"],
        ),
        ({"description": "x" * 70_000}, ["bytes; at most 65536"]),
    ],
)
def test_bad_json_schemas_are_refused_with_their_path(schema: dict[str, Any], fragments: list[str]) -> None:
    message = _error([{"type": "json_schema", "schema": schema}])
    for fragment in fragments:
        assert fragment in message


def test_deeply_nested_schema_is_refused() -> None:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(80):
        schema = {"type": "object", "properties": {"a": schema}}
    assert "nested deeper than 64 levels" in _error([{"type": "json_schema", "schema": schema}])


def test_local_refs_and_known_drafts_are_accepted() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"n": {"type": "integer"}},
        "type": "object",
        "properties": {"n": {"$ref": "#/definitions/n"}},
    }
    (spec,) = parse_specs([{"type": "json_schema", "schema": schema}])
    assert isinstance(spec, JsonSchemaSpec)


def test_a_property_named_ref_is_not_mistaken_for_a_reference() -> None:
    schema = {"type": "object", "properties": {"$ref": {"type": "string"}}}
    assert parse_specs([{"type": "json_schema", "schema": schema}])


class TestJudgeThreshold:
    """The pass mark is given on the judge's scale or on 0-1; both must agree; defaults per scale."""

    def test_defaults_per_scale(self) -> None:
        assert LlmJudgeSpec(rubric="r", judge=JUDGE).threshold == 0.75  # 4 of 1-5
        assert LlmJudgeSpec(rubric="r", judge=JUDGE, scale="0-10").threshold == pytest.approx(0.7)

    def test_native_pass_threshold_maps_to_unit_scale(self) -> None:
        assert LlmJudgeSpec(rubric="r", judge=JUDGE, pass_threshold=3).threshold == 0.5  # (3-1)/(5-1)
        assert LlmJudgeSpec(rubric="r", judge=JUDGE, scale="0-10", pass_threshold=9).threshold == pytest.approx(0.9)

    def test_explicit_unit_threshold_is_kept(self) -> None:
        assert LlmJudgeSpec(rubric="r", judge=JUDGE, threshold=0.6).threshold == 0.6

    def test_disagreeing_thresholds_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="disagrees with pass_threshold"):
            LlmJudgeSpec(rubric="r", judge=JUDGE, pass_threshold=4, threshold=0.2)

    def test_pass_threshold_outside_the_scale_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="from 1 to 5"):
            LlmJudgeSpec(rubric="r", judge=JUDGE, pass_threshold=0)


def test_specs_are_immutable() -> None:
    spec = ContainsSpec(values=("a",))
    with pytest.raises(ValidationError):
        spec.mode = "all"  # type: ignore[misc]
    assert RegexSpec(pattern="a").flags == ""
    assert ChoiceSpec().choices == "ABCD"
