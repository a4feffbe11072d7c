"""A case's scorers together: weighted score, all-must-pass, defaults, validation, judge usage totals,
the optional embedder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from shared.providers.models import Usage
from shared.scoring import (
    JudgeReply,
    JudgeRequest,
    ScorerUnavailable,
    ScoringFailed,
    SpecError,
    parse_specs,
    score_case,
    validate_specs,
)
from shared.scoring.combine import combine
from shared.scoring.results import ScoreResult
from shared.scoring.specs import (
    ContainsSpec,
    EmbeddingSimilaritySpec,
    ExactSpec,
    LlmJudgeSpec,
    NormalizedExactSpec,
    NumericSpec,
    RegexSpec,
    ScorerSpec,
)

JUDGE_REF = {"provider": "openai", "model": "gpt-4o-mini"}


async def judge_says_4(request: JudgeRequest) -> JudgeReply:
    return JudgeReply(text='{"score": 4, "reason": "good"}', usage=Usage(input_tokens=100, output_tokens=10))


class WordEmbedder:
    """A tiny deterministic embedder: a bag of three words."""

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [[float(text.lower().count(word)) for word in ("paris", "france", "lyon")] for text in texts]


class TestValidateSpecs:
    def test_no_scorers_with_expected_defaults_to_normalized_exact(self) -> None:
        assert validate_specs([], has_expected=True) == [NormalizedExactSpec()]

    def test_no_scorers_and_no_expected_is_refused(self) -> None:
        with pytest.raises(SpecError, match="nothing can score it"):
            validate_specs([], has_expected=False)

    def test_scorers_needing_expected_are_refused_without_it(self) -> None:
        specs = parse_specs([{"type": "contains", "values": ["x"]}, {"type": "numeric"}])
        with pytest.raises(SpecError) as caught:
            validate_specs(specs, has_expected=False)
        assert caught.value.path == "scorers[1]"
        assert "numeric compares with the expected output" in str(caught.value)

    def test_scorers_not_needing_expected_are_fine_without_it(self) -> None:
        specs = parse_specs([{"type": "json_valid"}, {"type": "llm_judge", "rubric": "r", "judge": JUDGE_REF}])
        assert validate_specs(specs, has_expected=False) == specs

    def test_embedding_is_refused_unless_available(self) -> None:
        with pytest.raises(SpecError, match="not available in this deployment"):
            validate_specs([EmbeddingSimilaritySpec()], has_expected=True)
        assert validate_specs([EmbeddingSimilaritySpec()], has_expected=True, embeddings_available=True)

    def test_too_many_scorers(self) -> None:
        with pytest.raises(SpecError, match="at most 16"):
            validate_specs([ExactSpec()] * 17, has_expected=True)


class TestScoreCase:
    async def test_default_scorer_when_none_given(self) -> None:
        case = await score_case([], "  PARIS. ", "Paris", "capital?", judge=None, embedder=None)
        assert case.passed
        assert case.score == 1.0
        assert [part.scorer for part in case.parts] == ["normalized_exact"]

    async def test_weighted_mean_and_all_must_pass(self) -> None:
        specs: list[ScorerSpec] = [
            ExactSpec(weight=3),  # fails: "Paris!" != "Paris"
            ContainsSpec(values=("paris",), weight=1),  # passes
        ]
        case = await score_case(specs, "Paris!", "Paris", "q", judge=None, embedder=None)
        # (3 * 0 + 1 * 1) / (3 + 1) = 0.25
        assert case.score == pytest.approx(0.25)
        assert not case.passed
        assert [part.weight for part in case.parts] == [3, 1]

    async def test_partial_scores_are_weighted(self) -> None:
        specs: list[ScorerSpec] = [
            ContainsSpec(values=("a", "b", "c", "d"), mode="all", weight=2, threshold=0.5),  # 0.5, passes
            RegexSpec(pattern="^a", weight=1),  # 1.0
        ]
        case = await score_case(specs, "a b", None, "q", judge=None, embedder=None)
        # (2 * 0.5 + 1 * 1.0) / 3 = 0.6667
        assert case.score == pytest.approx(2 / 3)
        assert case.passed

    async def test_judge_parts_carry_usage_and_totals_add_up(self) -> None:
        specs: list[ScorerSpec] = [
            NumericSpec(),
            LlmJudgeSpec(rubric="correct?", judge=JUDGE_REF),
            LlmJudgeSpec(rubric="polite?", judge=JUDGE_REF, weight=2),
        ]
        case = await score_case(specs, "It is 42.", "42", "q", judge=judge_says_4, embedder=None)
        assert [part.scorer for part in case.parts] == ["numeric", "llm_judge", "llm_judge"]
        # (1 * 1 + 1 * 0.75 + 2 * 0.75) / 4 = 0.8125
        assert case.score == pytest.approx(0.8125)
        assert case.passed
        assert case.judge_usage.calls == 2
        assert (case.judge_usage.input_tokens, case.judge_usage.output_tokens) == (200, 20)
        assert case.judge_usage.unreported_calls == 0
        assert case.parts[0].judge_usage is None

    async def test_unreported_judge_usage_is_counted_not_hidden(self) -> None:
        async def no_usage(request: JudgeRequest) -> JudgeReply:
            return JudgeReply(text="Score: 5")

        case = await score_case(
            [LlmJudgeSpec(rubric="r", judge=JUDGE_REF)], "x", None, "q", judge=no_usage, embedder=None
        )
        assert case.judge_usage.calls == 1
        assert case.judge_usage.unreported_calls == 1

    async def test_missing_judge_is_a_clear_error_before_any_call(self) -> None:
        with pytest.raises(ScorerUnavailable, match="llm_judge needs a judge callback"):
            await score_case([LlmJudgeSpec(rubric="r", judge=JUDGE_REF)], "x", None, "q", judge=None, embedder=None)

    async def test_a_failing_judge_call_keeps_the_usage_of_the_others(self) -> None:
        calls = 0

        async def flaky(request: JudgeRequest) -> JudgeReply:
            nonlocal calls
            calls += 1
            if "second" in request.prompt:
                raise TimeoutError("judge timed out")
            return JudgeReply(text="Score: 4", usage=Usage(input_tokens=50, output_tokens=5))

        specs = [LlmJudgeSpec(rubric="first", judge=JUDGE_REF), LlmJudgeSpec(rubric="second", judge=JUDGE_REF)]
        with pytest.raises(ScoringFailed) as caught:
            await score_case(specs, "x", None, "q", judge=flaky, embedder=None)
        assert calls == 2  # both calls settled: none left running in the background
        assert isinstance(caught.value.__cause__, TimeoutError)
        assert caught.value.judge_usage.input_tokens == 50

    async def test_invalid_specs_for_the_case_are_refused(self) -> None:
        with pytest.raises(SpecError):
            await score_case([ExactSpec()], "x", None, "q", judge=None, embedder=None)


class TestEmbedding:
    async def test_similarity_with_an_embedder(self) -> None:
        embedder = WordEmbedder()
        spec = EmbeddingSimilaritySpec(threshold=0.7)
        case = await score_case([spec], "Paris, France", "paris is in france", "q", judge=None, embedder=embedder)
        assert case.score == pytest.approx(1.0)
        assert case.passed
        assert embedder.calls == 1
        # [1, 0, 1] against [0, 0, 1]: cosine 1 / sqrt(2) = 0.7071, above 0.7
        near = await score_case([spec], "Lyon or Paris", "Paris", "q", judge=None, embedder=embedder)
        assert near.score == pytest.approx(0.7071, abs=1e-4)
        assert near.passed

    async def test_without_an_embedder_it_is_not_available(self) -> None:
        with pytest.raises(ScorerUnavailable, match="not available"):
            await score_case([EmbeddingSimilaritySpec()], "a", "b", "q", judge=None, embedder=None)


def test_combine_needs_parts() -> None:
    with pytest.raises(ValueError, match="no parts"):
        combine([])
    single = combine([ScoreResult(scorer="exact", score=1.0, passed=True, reason="ok")])
    assert single.passed
    assert not single.inconclusive


def test_importing_scoring_pulls_no_heavy_library() -> None:
    code = (
        "import sys, shared.scoring, shared.stats; "
        "heavy = [m for m in ('numpy', 'scipy', 'torch', 'sentence_transformers') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=root)
    assert completed.returncode == 0, completed.stdout + completed.stderr
