"""A case's scorers together: validation at suite creation, and scoring one output."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Sequence
from typing import Any

from shared.scoring.embedding import Embedder, score_embedding
from shared.scoring.errors import ScorerUnavailable, ScoringFailed, SpecError
from shared.scoring.judge import JudgeFn, score_with_judge
from shared.scoring.results import CaseScore, JudgeUsageTotals, ScoreResult
from shared.scoring.scorers import score
from shared.scoring.specs import (
    MAX_SCORERS_PER_CASE,
    NEEDS_EXPECTED,
    EmbeddingSimilaritySpec,
    LlmJudgeSpec,
    NormalizedExactSpec,
    ScorerSpec,
)


def validate_specs(
    specs: Sequence[ScorerSpec], has_expected: bool, *, embeddings_available: bool = False
) -> list[ScorerSpec]:
    """The scorers a case will run, or SpecError saying which entry cannot work.

    A case without scorers but with an expected output gets `normalized_exact`; without either it is
    refused (nothing could score it). Scorers that compare against the expected output are refused on
    a case that has none. `embedding_similarity` is refused unless this deployment has an embedder.
    """
    if len(specs) > MAX_SCORERS_PER_CASE:
        raise SpecError(f"{len(specs)} scorers; at most {MAX_SCORERS_PER_CASE} per case")
    if not specs:
        if not has_expected:
            raise SpecError("the case has no scorers and no expected output, so nothing can score it")
        return [NormalizedExactSpec()]
    for index, spec in enumerate(specs):
        path = f"scorers[{index}]"
        if spec.type in NEEDS_EXPECTED and not has_expected:
            raise SpecError(f"{spec.type} compares with the expected output and the case has none", path=path)
        if isinstance(spec, EmbeddingSimilaritySpec) and not embeddings_available:
            raise SpecError("embedding_similarity is not available in this deployment (optional extra)", path=path)
    return list(specs)


async def score_case(
    specs: Sequence[ScorerSpec],
    output: str,
    expected: str | None,
    case_input: str,
    *,
    judge: JudgeFn | None,
    embedder: Embedder | None,
) -> CaseScore:
    """Score one output with all of a case's scorers.

    The score is the weighted mean of the parts; the case passes only when every part passes. Judge and
    embedding calls run concurrently; deterministic scorers run inline (each tenant regex is bounded by
    its 50 ms timeout). Raises ScorerUnavailable when a judge or embedder is needed and not given,
    SpecError when the specs cannot work for this case (see `validate_specs`), and ScoringFailed (with
    the usage of the judge calls that succeeded) when a judge or embedder call raised.
    """
    effective = validate_specs(specs, expected is not None, embeddings_available=True)
    # Check before starting any call, so a missing component never leaves half the calls made.
    if judge is None and any(isinstance(spec, LlmJudgeSpec) for spec in effective):
        raise ScorerUnavailable("llm_judge needs a judge callback and none was given")
    if embedder is None and any(isinstance(spec, EmbeddingSimilaritySpec) for spec in effective):
        raise ScorerUnavailable("embedding_similarity is not available: no embedder is configured")
    parts: dict[int, ScoreResult] = {}
    calls: dict[int, Coroutine[Any, Any, ScoreResult]] = {}
    for index, spec in enumerate(effective):
        if isinstance(spec, LlmJudgeSpec):
            assert judge is not None
            calls[index] = score_with_judge(spec, output, expected, case_input, judge)
        elif isinstance(spec, EmbeddingSimilaritySpec):
            calls[index] = score_embedding(spec, output, expected, embedder)
        else:
            parts[index] = score(spec, output, expected)
    if calls:
        # Every call settles before we look (no orphaned judge calls still billing in the background).
        settled = await asyncio.gather(*calls.values(), return_exceptions=True)
        failures: list[Exception] = []
        for index, outcome in zip(calls, settled, strict=True):
            if isinstance(outcome, ScoreResult):
                parts[index] = outcome
            elif isinstance(outcome, Exception):
                failures.append(outcome)
            else:
                raise outcome  # cancellation and interpreter exits are not scoring outcomes
        if failures:
            usages = [part.judge_usage for part in parts.values() if part.judge_usage is not None]
            raise ScoringFailed(
                f"{len(failures)} of {len(calls)} judge/embedding calls failed: {type(failures[0]).__name__}",
                judge_usage=JudgeUsageTotals.of(usages),
            ) from failures[0]
    return combine([parts[index] for index in range(len(effective))])


def combine(parts: Sequence[ScoreResult]) -> CaseScore:
    """The case score of already scored parts: weighted mean, and pass only when all parts pass."""
    if not parts:
        raise ValueError("no parts to combine")
    total_weight = math.fsum(part.weight for part in parts)
    weighted = math.fsum(part.weight * part.score for part in parts) / total_weight
    usages = [part.judge_usage for part in parts if part.judge_usage is not None]
    return CaseScore(
        score=min(1.0, max(0.0, weighted)),
        passed=all(part.passed for part in parts),
        parts=tuple(parts),
        judge_usage=JudgeUsageTotals.of(usages),
    )
