"""Text folding for the lenient comparisons (normalized exact, case-insensitive contains)."""

from __future__ import annotations

import unicodedata

import regex

# Unicode punctuation (categories Pc, Pd, Ps, Pe, Pi, Pf, Po): a C-speed pass, unlike a per-character
# `unicodedata.category` loop over a large output.
_PUNCTUATION = regex.compile(r"\p{P}+")


def fold(text: str, *, case: bool = True, punctuation: bool = True, whitespace: bool = True) -> str:
    """NFKC-normalize `text`, then optionally casefold, drop punctuation and collapse whitespace.

    NFKC makes compatibility forms equal (full-width `Ａ` and `A`, the ligature `ﬁ` and `fi`).
    Punctuation is deleted, not replaced by a space, so "don't" and "dont" fold alike (at the price of
    "well-known" vs "well known"); whitespace folding strips the ends and turns every run into one space.
    """
    folded = unicodedata.normalize("NFKC", text)
    if case:
        folded = folded.casefold()
    if punctuation:
        folded = _PUNCTUATION.sub("", folded)
    if whitespace:
        folded = " ".join(folded.split())
    # Casefolding and deleting punctuation can leave a base letter next to a combining mark it was
    # apart from ("C:̧" -> "c" + U+0327): compose again so folding is idempotent.
    return unicodedata.normalize("NFKC", folded)
