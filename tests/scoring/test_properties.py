"""Properties over generated inputs: folding is idempotent, numbers written any common way are read
back, scores always lie in [0, 1] and reasons stay short."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.scoring.extract import last_number
from shared.scoring.results import MAX_REASON_CHARS
from shared.scoring.scorers import score
from shared.scoring.specs import ChoiceSpec, ContainsSpec, DeterministicSpec, NormalizedExactSpec, NumericSpec
from shared.scoring.text import fold

# No example database: it would write a .hypothesis folder into the work tree.
QUICK = settings(database=None, deadline=None)


@QUICK
@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@QUICK
@given(st.text(), st.text())
def test_normalized_exact_is_symmetric(a: str, b: str) -> None:
    assert score(NormalizedExactSpec(), a, b).passed == score(NormalizedExactSpec(), b, a).passed


@QUICK
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_integers_with_thousands_separators_read_back(value: int) -> None:
    for written in (f"{value}", f"{value:,}", f"The result is {value:,}."):
        found = last_number(written)
        assert found is not None
        assert found.value == value


@QUICK
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 4)))
def test_decimals_read_back(value: float) -> None:
    found = last_number(f"answer: {value}")
    assert found is not None
    assert found.value == value


@settings(database=None, deadline=None, max_examples=200)
@given(st.text(max_size=500), st.text(max_size=50))
def test_every_scorer_stays_in_range_with_a_short_reason(output: str, expected: str) -> None:
    specs: list[DeterministicSpec] = [
        NormalizedExactSpec(),
        ContainsSpec(values=("a", "b"), mode="all"),
        NumericSpec(),
        ChoiceSpec(),
    ]
    for spec in specs:
        result = score(spec, output, expected)
        assert 0.0 <= result.score <= 1.0
        assert result.passed == (result.score >= spec.threshold)
        assert len(result.reason) <= MAX_REASON_CHARS
