"""The deterministic scorers: positive, negative and edge cases (unicode, empty and huge outputs)."""

from __future__ import annotations

import pytest

from shared.scoring.results import MAX_REASON_CHARS
from shared.scoring.scorers import score
from shared.scoring.specs import (
    ChoiceSpec,
    ContainsSpec,
    DeterministicSpec,
    ExactSpec,
    LlmJudgeSpec,
    NormalizedExactSpec,
    NumericSpec,
    RegexSpec,
)

HUGE = "lorem ipsum dolor sit amet " * 40_000  # about 1 MB


class TestExact:
    def test_equal_after_stripping(self) -> None:
        result = score(ExactSpec(), "Paris\n", "Paris")
        assert (result.score, result.passed, result.scorer) == (1.0, True, "exact")

    def test_case_matters(self) -> None:
        result = score(ExactSpec(), "paris", "Paris")
        assert (result.score, result.passed) == (0.0, False)
        assert "differs" in result.reason

    def test_strip_can_be_turned_off(self) -> None:
        assert not score(ExactSpec(strip=False), "Paris ", "Paris").passed

    def test_empty_output_against_empty_expected(self) -> None:
        assert score(ExactSpec(), "", "").passed
        assert not score(ExactSpec(), "", "x").passed

    def test_missing_expected_fails_clearly(self) -> None:
        result = score(ExactSpec(), "Paris", None)
        assert not result.passed
        assert "needs an expected output" in result.reason


class TestNormalizedExact:
    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            ("  The  Eiffel   tower. ", "the eiffel tower"),
            ("PARIS!", "paris"),
            ("Ｐａｒｉｓ", "Paris"),  # full-width letters fold under NFKC
            ("ﬁnal answer", "final answer"),  # the ligature fi
            ("Straße", "STRASSE"),  # casefold, not lower()
            ("«Bonjour», dit-il", "Bonjour ditil"),  # unicode punctuation is dropped
            ("don't", "dont"),
        ],
    )
    def test_folds_case_whitespace_punctuation_and_compatibility_forms(self, output: str, expected: str) -> None:
        assert score(NormalizedExactSpec(), output, expected).passed

    def test_different_words_still_differ(self) -> None:
        result = score(NormalizedExactSpec(), "Lyon", "Paris")
        assert not result.passed
        assert "'lyon'" in result.reason
        assert "'paris'" in result.reason

    def test_options_turn_folding_off(self) -> None:
        assert not score(NormalizedExactSpec(ignore_case=False), "PARIS", "paris").passed
        assert not score(NormalizedExactSpec(ignore_punctuation=False), "Paris.", "Paris").passed

    def test_huge_output_reason_stays_short(self) -> None:
        result = score(NormalizedExactSpec(), HUGE, "short")
        assert not result.passed
        assert len(result.reason) <= MAX_REASON_CHARS


class TestContains:
    def test_any_is_case_insensitive_by_default(self) -> None:
        result = score(ContainsSpec(values=("PARIS", "Lyon")), "I'd say paris.", None)
        assert (result.score, result.passed) == (1.0, True)

    def test_any_none_found(self) -> None:
        result = score(ContainsSpec(values=("Rome", "Berlin")), "Paris", None)
        assert (result.score, result.passed) == (0.0, False)
        assert result.reason == "contains none of 2 values"

    def test_all_scores_the_share_found_and_passes_only_with_all(self) -> None:
        spec = ContainsSpec(values=("red", "green", "blue", "cyan"), mode="all")
        partial = score(spec, "red, green and blue", None)
        assert partial.score == 0.75
        assert not partial.passed
        assert "missing 1 of 4" in partial.reason
        assert score(spec, "red green blue cyan", None).passed

    def test_all_with_a_lower_threshold_passes_partially(self) -> None:
        spec = ContainsSpec(values=("a1", "b2"), mode="all", threshold=0.5)
        assert score(spec, "a1 only", None).passed

    def test_case_sensitive(self) -> None:
        spec = ContainsSpec(values=("Paris",), case_sensitive=True)
        assert not score(spec, "paris", None).passed
        assert score(spec, "in Paris", None).passed

    def test_unicode_compatibility_forms_fold_when_case_insensitive(self) -> None:
        assert score(ContainsSpec(values=("café",)), "CAFÉ au lait", None).passed
        assert score(ContainsSpec(values=("Paris",)), "Ｐａｒｉｓ", None).passed

    def test_empty_output(self) -> None:
        assert not score(ContainsSpec(values=("x",)), "", None).passed

    def test_huge_output(self) -> None:
        assert score(ContainsSpec(values=("needle",)), HUGE + "needle", None).passed


class TestRegex:
    def test_search_anywhere(self) -> None:
        assert score(RegexSpec(pattern=r"\b\d{3}-\d{4}\b"), "call 555-1234 now", None).passed

    def test_fullmatch_needs_the_whole_output(self) -> None:
        spec = RegexSpec(pattern=r"\d+", match="fullmatch")
        assert score(spec, "12345", None).passed
        result = score(spec, "12345 apples", None)
        assert not result.passed
        assert result.reason == "pattern does not match the whole output"

    def test_flags(self) -> None:
        assert not score(RegexSpec(pattern="^paris$"), "PARIS", None).passed
        assert score(RegexSpec(pattern="^paris$", flags="i"), "PARIS", None).passed
        assert score(RegexSpec(pattern="^b$", flags="m"), "a\nb\nc", None).passed
        assert score(RegexSpec(pattern="a.b", flags="s"), "a\nb", None).passed

    def test_unicode(self) -> None:
        assert score(RegexSpec(pattern=r"^\w+$"), "日本語", None).passed

    def test_empty_output(self) -> None:
        assert not score(RegexSpec(pattern="x"), "", None).passed
        assert score(RegexSpec(pattern="^$"), "", None).passed


class TestNumeric:
    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            ("The total is 1,234.5 dollars.", "1234.5"),
            ("-3e2", "-300"),
            ("It grew by 50%", "50%"),
            ("It grew by 50%", "50"),
            ("First 10, then 20, finally 42.", "42"),
            ("The answer is 42.", "42.0"),
            ("x = .5", "0.5"),
            ("\u22127 degrees", "-7"),  # the unicode minus sign
            ("about 1,000,000 people", "1e6"),
            ("0.1", "1e-1"),
        ],
    )
    def test_last_number_matches(self, output: str, expected: str) -> None:
        result = score(NumericSpec(), output, expected)
        assert result.passed, result.reason

    def test_percent_is_not_a_fraction(self) -> None:
        # "50%" reads as 50: the suite asks for an answer in the same form it expects.
        assert not score(NumericSpec(), "50%", "0.5").passed

    def test_wrong_number_reports_the_gap(self) -> None:
        result = score(NumericSpec(), "41.5", "42")
        assert not result.passed
        assert "off by 0.5" in result.reason

    def test_absolute_and_relative_tolerance(self) -> None:
        assert score(NumericSpec(abs_tolerance=0.5), "41.5", "42").passed
        assert not score(NumericSpec(abs_tolerance=0.4), "41.5", "42").passed
        assert score(NumericSpec(rel_tolerance=0.01), "990", "1000").passed  # |diff| 10 <= 1% of 1000
        assert not score(NumericSpec(rel_tolerance=0.01), "989", "1000").passed

    def test_no_number_in_output(self) -> None:
        result = score(NumericSpec(), "I do not know", "42")
        assert not result.passed
        assert result.reason == "no number in the output"

    def test_expected_without_a_number(self) -> None:
        assert "holds no number" in score(NumericSpec(), "42", "forty-two").reason

    def test_a_date_is_not_a_negative_number(self) -> None:
        assert score(NumericSpec(), "on 2024-05-01", "1").passed

    def test_overflowing_numbers_are_ignored(self) -> None:
        assert not score(NumericSpec(), "1e999", "1").passed

    def test_huge_output(self) -> None:
        assert score(NumericSpec(), HUGE + " 7", "7").passed


class TestChoice:
    @pytest.mark.parametrize(
        "output",
        [
            "The answer is (B)",
            "B)",
            "B",
            "b",
            "(B)",
            "**B**",
            "Answer: b",
            "After thinking it through, the correct option is B because it is the capital.",
            "Final answer: **B**",
            "The answer is: B",
            "Answer is (b).",
            "I considered A at first.\nThe answer is B.",
            "B. Paris",
            "My pick is (B) since Paris is the capital.",
        ],
    )
    def test_letter_is_extracted(self, output: str) -> None:
        result = score(ChoiceSpec(), output, "B")
        assert result.passed, result.reason

    def test_expected_may_be_written_with_the_option_text(self) -> None:
        assert score(ChoiceSpec(), "(C)", "C) Berlin").passed

    def test_wrong_letter(self) -> None:
        result = score(ChoiceSpec(), "The answer is (A)", "B")
        assert not result.passed
        assert result.reason == "chose A (stated answer), expected B"

    def test_restated_options_are_ambiguous(self) -> None:
        result = score(ChoiceSpec(), "A) Paris\nB) Lyon\nC) Nice", "A")
        assert not result.passed
        assert "ambiguous" in result.reason

    def test_an_article_is_not_an_answer(self) -> None:
        assert not score(ChoiceSpec(), "The answer is a bit more complicated than that", "A").passed
        assert not score(ChoiceSpec(), "A good question with no answer", "A").passed

    def test_letters_beyond_the_choices_are_not_read(self) -> None:
        assert not score(ChoiceSpec(), "The answer is (F)", "F").passed  # F is outside A-D
        assert score(ChoiceSpec(choices="ABCDEFGHIJ"), "The answer is (F)", "F").passed

    def test_last_explicit_statement_wins(self) -> None:
        assert score(ChoiceSpec(), "The answer is A. Wait, no: the answer is C.", "C").passed

    def test_expected_that_is_not_a_choice(self) -> None:
        assert "is not one of the choices" in score(ChoiceSpec(), "A", "Paris").reason

    def test_empty_and_huge_outputs(self) -> None:
        assert score(ChoiceSpec(), "", "A").reason == "no choice letter found"
        result = score(ChoiceSpec(), HUGE + "\nThe answer is (D)", "D")
        assert result.passed


def test_async_scorers_are_not_dispatched_here() -> None:
    spec: DeterministicSpec = LlmJudgeSpec(rubric="r", judge={"provider": "p", "model": "m"})  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"use combine\.score_case"):
        score(spec, "x", None)


@pytest.mark.parametrize(
    "spec",
    [ExactSpec(), NormalizedExactSpec(), ContainsSpec(values=("zz",)), RegexSpec(pattern="zz"), NumericSpec()],
    ids=lambda spec: spec.type,
)
def test_reasons_never_carry_the_whole_output(spec: DeterministicSpec) -> None:
    result = score(spec, HUGE, "expected 3")
    assert len(result.reason) <= MAX_REASON_CHARS
    assert "lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem" not in result.reason
