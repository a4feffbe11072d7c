"""Scorer specs: what a suite author writes per case, validated when the suite is created.

A discriminated union on `type`. Every spec has `weight` (> 0, its share of the case score) and
`threshold` (the part passes when its score >= threshold). Binary scorers default to 1.0; the graded
ones to a documented value. Sizes are bounded because suites are tenant input stored per version.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator, model_validator

from shared.scoring import jsonschemas, patterns

MAX_CONTAINS_VALUES = 100
MAX_CONTAINS_VALUE_CHARS = 1000
MAX_RUBRIC_CHARS = 8000
MAX_JUDGE_REF_BYTES = 4096
MAX_SCORERS_PER_CASE = 16

JudgeScale = Literal["1-5", "0-10"]
# The judge's native scale: its lowest and highest score.
SCALE_BOUNDS: dict[str, tuple[int, int]] = {"1-5": (1, 5), "0-10": (0, 10)}
# A judge verdict of 4 of 5 (or 7 of 10) passes unless the author says otherwise.
DEFAULT_JUDGE_PASS: dict[str, float] = {"1-5": 4.0, "0-10": 7.0}

Weight = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
Threshold = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: Weight = 1.0


class ExactSpec(_Spec):
    """The output equals the expected output (after stripping surrounding whitespace unless `strip=False`)."""

    type: Literal["exact"] = "exact"
    threshold: Threshold = 1.0
    strip: bool = True


class NormalizedExactSpec(_Spec):
    """The output equals the expected output after NFKC and folding (see `text.fold`)."""

    type: Literal["normalized_exact"] = "normalized_exact"
    threshold: Threshold = 1.0
    ignore_case: bool = True
    ignore_punctuation: bool = True
    ignore_whitespace: bool = True


class ContainsSpec(_Spec):
    """The output contains any (or all) of `values`. With mode "all" the score is the share found."""

    type: Literal["contains"] = "contains"
    threshold: Threshold = 1.0
    values: tuple[Annotated[str, Field(min_length=1, max_length=MAX_CONTAINS_VALUE_CHARS)], ...] = Field(
        min_length=1, max_length=MAX_CONTAINS_VALUES
    )
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = False


class RegexSpec(_Spec):
    """The output matches `pattern` (search anywhere, or `fullmatch` the whole output), time-limited."""

    type: Literal["regex"] = "regex"
    threshold: Threshold = 1.0
    # Declared before `pattern` so the pattern's validator sees the flags.
    flags: str = Field(default="", pattern=r"^[ims]{0,3}$")
    pattern: str = Field(min_length=1, max_length=patterns.MAX_PATTERN_CHARS)
    match: Literal["search", "fullmatch"] = "search"

    @field_validator("flags")
    @classmethod
    def _distinct_flags(cls, flags: str) -> str:
        if len(set(flags)) != len(flags):
            raise ValueError("flags repeat a letter")
        return flags

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str, info: ValidationInfo) -> str:
        try:
            patterns.compile_pattern(pattern, info.data.get("flags", ""))
        except patterns.PatternError as exc:
            raise ValueError(str(exc)) from exc
        return pattern


class JsonValidSpec(_Spec):
    """The output is JSON (a single surrounding Markdown code fence is allowed unless disabled)."""

    type: Literal["json_valid"] = "json_valid"
    threshold: Threshold = 1.0
    allow_code_fence: bool = True


class JsonSchemaSpec(_Spec):
    """The output is JSON valid against `schema` (written `schema` in suites; `json_schema` in Python).

    The schema is checked when the suite is created: its draft, size, local-only references and
    patterns (see `jsonschemas`). `check_formats` turns on `format` assertions (off by default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, serialize_by_alias=True)

    type: Literal["json_schema"] = "json_schema"
    threshold: Threshold = 1.0
    # `schema` would shadow a BaseModel attribute, hence the alias.
    json_schema: dict[str, Any] = Field(alias="schema")
    check_formats: bool = False
    allow_code_fence: bool = True

    @field_validator("json_schema")
    @classmethod
    def _usable(cls, schema: dict[str, Any]) -> dict[str, Any]:
        jsonschemas.check_schema(schema)
        return schema


class NumericSpec(_Spec):
    """The last number in the output is within tolerance of the expected number.

    Passes when |got - expected| <= max(abs_tolerance, rel_tolerance * |expected|). The default
    relative tolerance of 1e-9 only absorbs float rounding ("0.1" and "1e-1" are equal anyway).
    """

    type: Literal["numeric"] = "numeric"
    threshold: Threshold = 1.0
    abs_tolerance: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    rel_tolerance: float = Field(default=1e-9, ge=0, le=1, allow_inf_nan=False)


class ChoiceSpec(_Spec):
    """The multiple-choice letter found in the output equals the expected letter (`extract.extract_choice`)."""

    type: Literal["choice"] = "choice"
    threshold: Threshold = 1.0
    choices: str = Field(default="ABCD", pattern=r"^[A-Z]{2,26}$")

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices: str) -> str:
        if len(set(choices)) != len(choices):
            raise ValueError("choices repeat a letter")
        return choices


class LlmJudgeSpec(_Spec):
    """A judge model grades the output against `rubric` on `scale`; the grade maps linearly to [0, 1].

    `judge` is an opaque target reference (`provider`, `model`, optional `credential_id`, `params`),
    resolved by the engine. The pass mark is given either as `pass_threshold` on the judge's own scale
    (4 on 1-5) or as `threshold` in [0, 1]; by default 4 of 5 or 7 of 10. When both are given they
    must agree (a dumped spec carries both, and must validate again unchanged).
    """

    type: Literal["llm_judge"] = "llm_judge"
    threshold: Threshold = 0.75  # always set from pass_threshold or the scale's default, see below
    rubric: str = Field(min_length=1, max_length=MAX_RUBRIC_CHARS)
    judge: dict[str, Any]
    scale: JudgeScale = "1-5"
    pass_threshold: float | None = Field(default=None, allow_inf_nan=False)
    include_expected: bool = True

    @model_validator(mode="before")
    @classmethod
    def _resolve_threshold(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        scale = data.get("scale", "1-5")
        if scale not in SCALE_BOUNDS:
            return data  # the field validator reports it
        low, high = SCALE_BOUNDS[scale]
        native = data.get("pass_threshold")
        if native is None:
            if "threshold" in data:
                return data
            native = DEFAULT_JUDGE_PASS[scale]
        if not isinstance(native, int | float) or isinstance(native, bool) or not low <= native <= high:
            raise ValueError(f"pass_threshold must be a number from {low} to {high} on the {scale} scale")
        derived = (native - low) / (high - low)
        given = data.get("threshold")
        if given is not None and (not isinstance(given, int | float) or abs(float(given) - derived) > 1e-9):
            raise ValueError(f"threshold {given} disagrees with pass_threshold {native} ({derived:.4g} on 0-1)")
        return {**data, "threshold": derived}

    @field_validator("judge")
    @classmethod
    def _judge_reference(cls, judge: dict[str, Any]) -> dict[str, Any]:
        for key in ("provider", "model"):
            if not isinstance(judge.get(key), str) or not judge[key]:
                raise ValueError(f"judge needs a non-empty string {key!r}")
        if len(json.dumps(judge, default=str).encode()) > MAX_JUDGE_REF_BYTES:
            raise ValueError(f"judge reference is larger than {MAX_JUDGE_REF_BYTES} bytes")
        return judge


class EmbeddingSimilaritySpec(_Spec):
    """Cosine similarity of output and expected embeddings (clipped at 0). An optional extra: it needs an
    `Embedder`, which no deployment has by default."""

    type: Literal["embedding_similarity"] = "embedding_similarity"
    threshold: Threshold = 0.8


ScorerSpec = Annotated[
    ExactSpec
    | NormalizedExactSpec
    | ContainsSpec
    | RegexSpec
    | JsonValidSpec
    | JsonSchemaSpec
    | NumericSpec
    | ChoiceSpec
    | LlmJudgeSpec
    | EmbeddingSimilaritySpec,
    Field(discriminator="type"),
]

# The scorers that run synchronously and need nothing injected.
DeterministicSpec = (
    ExactSpec
    | NormalizedExactSpec
    | ContainsSpec
    | RegexSpec
    | JsonValidSpec
    | JsonSchemaSpec
    | NumericSpec
    | ChoiceSpec
)

# Scorers that compare against the case's expected output and cannot work without one.
NEEDS_EXPECTED: frozenset[str] = frozenset({"exact", "normalized_exact", "numeric", "choice", "embedding_similarity"})

SPECS_ADAPTER: TypeAdapter[list[ScorerSpec]] = TypeAdapter(list[ScorerSpec])


def parse_specs(raw: Any) -> list[ScorerSpec]:
    """Validate a JSON-like list of scorer specs (pydantic ValidationError with the failing paths)."""
    return SPECS_ADAPTER.validate_python(raw)
