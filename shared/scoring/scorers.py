"""The deterministic scorers, and `score` to dispatch a spec to its scorer.

Each returns a score in [0, 1], pass when score >= the spec's threshold, and a short reason that
quotes at most a few characters of the output. Scorers that compare against the expected output fail
with a clear reason when the case has none (suite validation should have refused that already).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.scoring import patterns
from shared.scoring.extract import extract_choice, last_number
from shared.scoring.json_scorers import score_json_schema, score_json_valid
from shared.scoring.results import ScoreResult, quote, short
from shared.scoring.specs import (
    ChoiceSpec,
    ContainsSpec,
    DeterministicSpec,
    ExactSpec,
    NormalizedExactSpec,
    NumericSpec,
    RegexSpec,
)
from shared.scoring.text import fold


def _result(spec: DeterministicSpec, score: float, reason: str) -> ScoreResult:
    return ScoreResult(
        scorer=spec.type,
        score=score,
        passed=score >= spec.threshold,
        reason=short(reason),
        weight=spec.weight,
    )


def _missing_expected(spec: DeterministicSpec) -> ScoreResult:
    return _result(spec, 0.0, f"{spec.type} needs an expected output and the case has none")


def score_exact(spec: ExactSpec, output: str, expected: str | None) -> ScoreResult:
    """1 when the output equals the expected output (both stripped unless `strip=False`)."""
    if expected is None:
        return _missing_expected(spec)
    got, want = (output.strip(), expected.strip()) if spec.strip else (output, expected)
    if got == want:
        return _result(spec, 1.0, "exact match")
    return _result(spec, 0.0, f"differs from the expected output ({len(got)} vs {len(want)} characters)")


def score_normalized_exact(spec: NormalizedExactSpec, output: str, expected: str | None) -> ScoreResult:
    """1 when output and expected output are equal after folding (NFKC, case, punctuation, whitespace)."""
    if expected is None:
        return _missing_expected(spec)
    options = {"case": spec.ignore_case, "punctuation": spec.ignore_punctuation, "whitespace": spec.ignore_whitespace}
    got, want = fold(output, **options), fold(expected, **options)
    if got == want:
        return _result(spec, 1.0, "match after normalization")
    return _result(spec, 0.0, f"differs after normalization: got {quote(got)}, expected {quote(want)}")


def score_contains(spec: ContainsSpec, output: str) -> ScoreResult:
    """Mode "any": 1 when any value occurs. Mode "all": the share of values that occur (pass needs all
    by default). Case-insensitive matching folds NFKC and case on both sides."""
    if spec.case_sensitive:
        haystack, needles = output, list(spec.values)
    else:
        haystack = fold(output, punctuation=False, whitespace=False)
        needles = [fold(value, punctuation=False, whitespace=False) for value in spec.values]
    found = [needle in haystack for needle in needles]
    hits = sum(found)
    if spec.mode == "any":
        if hits:
            first = spec.values[found.index(True)]
            return _result(spec, 1.0, f"contains {quote(first)}")
        return _result(spec, 0.0, f"contains none of {len(spec.values)} values")
    missing = [value for value, ok in zip(spec.values, found, strict=True) if not ok]
    score = hits / len(found)
    if not missing:
        return _result(spec, score, f"contains all {len(found)} values")
    return _result(spec, score, f"missing {len(missing)} of {len(found)} values, e.g. {quote(missing[0])}")


def score_regex(spec: RegexSpec, output: str) -> ScoreResult:
    """1 when the pattern matches (anywhere, or the whole output with `fullmatch`); a timeout fails."""
    compiled = patterns.compile_pattern(spec.pattern, spec.flags)
    try:
        matched = (
            patterns.fullmatch(compiled, output) if spec.match == "fullmatch" else patterns.search(compiled, output)
        )
    except patterns.PatternTimeout:
        return _result(spec, 0.0, "pattern timed out")
    if matched:
        return _result(spec, 1.0, "pattern matches" if spec.match == "search" else "pattern matches the whole output")
    return _result(
        spec, 0.0, "pattern does not match" if spec.match == "search" else "pattern does not match the whole output"
    )


def score_numeric(spec: NumericSpec, output: str, expected: str | None) -> ScoreResult:
    """1 when the last number of the output is within tolerance of the expected number."""
    if expected is None:
        return _missing_expected(spec)
    want = last_number(expected)
    if want is None:
        return _result(spec, 0.0, f"expected output {quote(expected)} holds no number")
    got = last_number(output)
    if got is None:
        return _result(spec, 0.0, "no number in the output")
    diff = abs(got.value - want.value)
    tolerance = max(spec.abs_tolerance, spec.rel_tolerance * abs(want.value))
    if diff <= tolerance:
        return _result(spec, 1.0, f"got {got.text}, expected {want.text}")
    return _result(spec, 0.0, f"got {got.text}, expected {want.text} (off by {diff:.6g}, tolerance {tolerance:.6g})")


def score_choice(spec: ChoiceSpec, output: str, expected: str | None) -> ScoreResult:
    """1 when the choice letter found in the output is the expected one."""
    if expected is None:
        return _missing_expected(spec)
    want, _ = extract_choice(expected, spec.choices)
    if want is None:
        return _result(spec, 0.0, f"expected output {quote(expected)} is not one of the choices {spec.choices}")
    got, how = extract_choice(output, spec.choices)
    if got is None:
        return _result(spec, 0.0, how)
    if got == want:
        return _result(spec, 1.0, f"chose {got} ({how})")
    return _result(spec, 0.0, f"chose {got} ({how}), expected {want}")


_BY_TYPE: dict[str, Callable[[Any, str, str | None], ScoreResult]] = {
    "exact": score_exact,
    "normalized_exact": score_normalized_exact,
    "contains": lambda spec, output, _expected: score_contains(spec, output),
    "regex": lambda spec, output, _expected: score_regex(spec, output),
    "json_valid": lambda spec, output, _expected: score_json_valid(spec, output),
    "json_schema": lambda spec, output, _expected: score_json_schema(spec, output),
    "numeric": score_numeric,
    "choice": score_choice,
}


def score(spec: DeterministicSpec, output: str, expected: str | None) -> ScoreResult:
    """Score one output with one deterministic spec.

    The LLM judge and embedding similarity need injected components: use `combine.score_case`
    (or `judge.score_with_judge`); passing them here is a TypeError.
    """
    scorer = _BY_TYPE.get(spec.type)
    if scorer is None:
        raise TypeError(f"{spec.type} is not a deterministic scorer; use combine.score_case")
    return scorer(spec, output, expected)


__all__ = [
    "score",
    "score_choice",
    "score_contains",
    "score_exact",
    "score_json_schema",
    "score_json_valid",
    "score_normalized_exact",
    "score_numeric",
    "score_regex",
]
