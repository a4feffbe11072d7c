"""Pulling an answer out of free text: the last number, or a multiple-choice letter.

Our own fixed patterns use the stdlib `re`; every quantifier that could meet a long run of the same
character is bounded, so matching stays linear on huge outputs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# A number as people and models write it: optional sign (ASCII or U+2212 minus), thousands groups
# (`1,234,567.5`), plain digits (`1234.5`, `.5`), an exponent (`-3e2`), a trailing percent sign.
# A sign counts only when it does not follow a letter or digit ("2024-05" is not "-05").
_NUMBER = re.compile(
    r"(?P<sign>(?<![\w.])[-+\u2212])?"
    r"(?<![\w.,])"
    r"(?P<body>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d{1,4}(?![\w]))?"
    r"(?P<pct>%)?"
)


@dataclass(frozen=True)
class ExtractedNumber:
    """A number found in text: its value and the text it came from (for reasons)."""

    value: float
    text: str
    percent: bool


def last_number(text: str) -> ExtractedNumber | None:
    """The last finite number written in `text`, or None.

    A percent sign is kept as written: "50%" is 50 (with `percent=True`), never 0.5, because a suite
    asks for an answer in a form and the expected output is written in that same form.
    Commas are read as thousands separators only in groups of three ("1,234" is 1234); decimal commas
    are not supported ("1,23" reads as 1).
    """
    found: ExtractedNumber | None = None
    for match in _NUMBER.finditer(text):
        sign = match.group("sign") or ""
        literal = ("-" if sign in ("-", "\u2212") else "") + match.group("body").replace(",", "")
        literal += match.group("exp") or ""
        try:
            value = float(literal)
        except ValueError:  # pragma: no cover - the pattern only admits float syntax
            continue
        if math.isfinite(value):
            found = ExtractedNumber(value=value, text=match.group(0), percent=match.group("pct") is not None)
    return found


def _letter_class(choices: str) -> str:
    return "[" + choices + choices.lower() + "]"


@dataclass(frozen=True)
class ChoicePatterns:
    """The extraction patterns for one set of choice letters, tried in order of strength."""

    explicit: re.Pattern[str]
    bold: re.Pattern[str]
    alone: re.Pattern[str]
    marked: re.Pattern[str]


_PATTERN_CACHE: dict[str, ChoicePatterns] = {}


def _patterns(choices: str) -> ChoicePatterns:
    cached = _PATTERN_CACHE.get(choices)
    if cached is not None:
        return cached
    upper = "[" + choices + "]"
    anycase = _letter_class(choices)
    built = ChoicePatterns(
        # "The answer is (B)", "Answer: d", "final answer: **C**", "the correct option is B".
        explicit=re.compile(
            r"\b(?:answer|option|choice)\b[ \t]{0,5}(?:is[ \t]{0,3}:?|[:=-])?[ \t]{0,5}"
            r"(?:option[ \t]{1,5}|choice[ \t]{1,5}|letter[ \t]{1,5})?"
            r"(?P<open>[(\[*]{0,2})[ \t]{0,3}(?P<letter>" + anycase + r")(?![A-Za-z0-9])(?P<rest>[^\n]{0,2})",
            re.IGNORECASE,
        ),
        # "**C**", "**(C)**", "**C) Paris**", "**C.**".
        bold=re.compile(r"\*\*[ \t]{0,3}\(?(?P<letter>" + upper + r")(?:[ \t]{0,3}[).:]?[ \t]{0,3}\*\*|[).:])"),
        # The whole output is one letter, perhaps dressed: "B", "(b)", "C.", "**D**".
        alone=re.compile(r"[ \t\n]{0,20}[(\[*]{0,2}(?P<letter>" + anycase + r")[)\].:*]{0,3}[ \t\n]{0,20}"),
        # Marked letters inside text: "(B)", "B)" and a line starting "B." / "B:".
        marked=re.compile(
            r"\((?P<p>" + upper + r")\)"
            r"|(?<![\w(])(?P<r>" + upper + r")\)"
            r"|(?m:^[ \t]{0,8}(?P<l>" + upper + r")[.:](?=[ \t]|$))"
        ),
    )
    if len(_PATTERN_CACHE) < 64:
        _PATTERN_CACHE[choices] = built
    return built


def extract_choice(text: str, choices: str) -> tuple[str | None, str]:
    """The chosen letter (upper case) and how it was found; (None, why) when there is none.

    Strongest evidence first: the last explicit statement ("the answer is B"), then the last bolded
    letter, then an output that is a single letter, then a letter marked as an option ("(B)", "B)") when
    exactly one distinct letter is marked. Several distinct marked letters are ambiguous (the model
    restating the options), never a guess. A lower-case letter counts in an explicit statement only
    when bracketed or followed by the end of the line or punctuation, so "the answer is a bit longer"
    does not read as "A".
    """
    p = _patterns(choices)
    explicit: str | None = None
    for match in p.explicit.finditer(text):
        letter = match.group("letter")
        rest = match.group("rest")
        if letter.islower() and not match.group("open") and rest and not re.match(r"[).\]*:,;!?]|\s*$", rest):
            continue
        explicit = letter.upper()
    if explicit is not None:
        return explicit, "stated answer"
    bold = [m.group("letter") for m in p.bold.finditer(text)]
    if bold:
        return bold[-1], "bold letter"
    alone = p.alone.fullmatch(text)
    if alone is not None:
        return alone.group("letter").upper(), "single letter"
    marked = {m.group("p") or m.group("r") or m.group("l") for m in p.marked.finditer(text)}
    if len(marked) == 1:
        return marked.pop(), "marked letter"
    if len(marked) > 1:
        return None, f"ambiguous: several choices marked ({', '.join(sorted(marked))})"
    return None, "no choice letter found"
