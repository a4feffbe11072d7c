"""JSON validity and JSON schema scorers; no network for references, formats off by default."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.scoring import jsonschemas
from shared.scoring.scorers import score
from shared.scoring.specs import JsonSchemaSpec, JsonValidSpec

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


class TestJsonValid:
    @pytest.mark.parametrize("output", ['{"a": 1}', "[1, 2]", "42", '"text"', "null", '  {"a": [1, {"b": null}]}\n'])
    def test_valid(self, output: str) -> None:
        assert score(JsonValidSpec(), output, None).passed

    def test_code_fence_is_allowed_by_default(self) -> None:
        result = score(JsonValidSpec(), '```json\n{"a": 1}\n```', None)
        assert result.passed
        assert result.reason == "valid JSON inside a code fence"
        assert not score(JsonValidSpec(allow_code_fence=False), '```json\n{"a": 1}\n```', None).passed

    @pytest.mark.parametrize(
        ("output", "fragment"),
        [
            ("", "empty output"),
            ("   ", "empty output"),
            ("{'a': 1}", "not JSON"),
            ('{"a": 1,}', "not JSON"),
            ('Sure! {"a": 1}', "not JSON"),
            ("NaN", "NaN is not JSON"),
            ('{"x": Infinity}', "Infinity is not JSON"),
            ("1" * 5000, "not usable JSON"),  # beyond Python's integer digit limit
            ("[" * 100_000 + "]" * 100_000, "not usable JSON"),  # nested too deeply
        ],
    )
    def test_invalid(self, output: str, fragment: str) -> None:
        result = score(JsonValidSpec(), output, None)
        assert not result.passed
        assert fragment in result.reason

    def test_unicode_and_huge(self) -> None:
        assert score(JsonValidSpec(), json.dumps({"ville": "Zürich", "emoji": "🙂"}, ensure_ascii=False), None).passed
        assert score(JsonValidSpec(), json.dumps(list(range(200_000))), None).passed


class TestJsonSchema:
    def test_valid_instance(self) -> None:
        result = score(JsonSchemaSpec(json_schema=PERSON), '{"name": "Ada", "age": 36}', None)
        assert (result.passed, result.reason) == (True, "matches the schema")

    @pytest.mark.parametrize(
        ("output", "fragment"),
        [
            ('{"name": "Ada"}', "'age' is a required property"),
            ('{"name": "Ada", "age": -1}', "$.age"),
            ('{"name": "Ada", "age": "36"}', "is not of type 'integer'"),
            ('{"name": "Ada", "age": 36, "x": 1}', "additional properties are not allowed ('x' unexpected)"),
            ("not json", "not JSON"),
        ],
    )
    def test_invalid_instances_name_the_failure(self, output: str, fragment: str) -> None:
        result = score(JsonSchemaSpec(json_schema=PERSON), output, None)
        assert not result.passed
        assert fragment in result.reason

    def test_pattern_and_pattern_properties_still_work(self) -> None:
        schema = {
            "type": "object",
            "patternProperties": {"^x-": {"type": "string", "pattern": "^[a-z]+$"}},
            "additionalProperties": False,
        }
        spec = JsonSchemaSpec(json_schema=schema)
        assert score(spec, '{"x-a": "abc"}', None).passed
        assert "does not match" in score(spec, '{"x-a": "ABC"}', None).reason
        assert "unexpected" in score(spec, '{"y": "abc"}', None).reason

    def test_additional_properties_as_a_schema(self) -> None:
        spec = JsonSchemaSpec(json_schema={"type": "object", "additionalProperties": {"type": "integer"}})
        assert score(spec, '{"a": 1}', None).passed
        assert not score(spec, '{"a": "1"}', None).passed

    def test_formats_are_annotations_unless_asked(self) -> None:
        schema = {"type": "string", "format": "email"}
        assert score(JsonSchemaSpec(json_schema=schema), '"not an email"', None).passed
        assert not score(JsonSchemaSpec(json_schema=schema, check_formats=True), '"not an email"', None).passed

    def test_local_references_resolve(self) -> None:
        schema = {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}}
        spec = JsonSchemaSpec(json_schema=schema)
        assert score(spec, "[1, 2]", None).passed
        assert not score(spec, '[1, "2"]', None).passed

    def test_draft_7_schema(self) -> None:
        schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer", "exclusiveMinimum": 0}
        assert not score(JsonSchemaSpec(json_schema=schema), "0", None).passed

    def test_code_fenced_json(self) -> None:
        assert score(JsonSchemaSpec(json_schema=PERSON), '```\n{"name": "Ada", "age": 1}\n```', None).passed


def test_url_ref_is_refused_at_creation() -> None:
    with pytest.raises(jsonschemas.SchemaProblem, match="only local references"):
        jsonschemas.check_schema({"$ref": "https://json-schema.org/draft/2020-12/schema"})


def test_validator_never_retrieves_remote_references(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a schema that skipped `check_schema` cannot make the validator go to the network."""

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network was used")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    schema = {"type": "object", "properties": {"a": {"$ref": "https://evil.example/s.json"}}}
    spec = JsonSchemaSpec.model_construct(json_schema=schema, check_formats=False, allow_code_fence=True)
    result = score(spec, '{"a": 1}', None)
    assert not result.passed
    assert "schema reference not resolvable" in result.reason
