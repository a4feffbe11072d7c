"""What every importer shares: bounded decoding of the input, and problems placed at their origin.

An importer turns each record of its input into a case dict and remembers where it came from
(`line 7`, `tests[3]`); when the assembled content fails validation, each `cases[i]...` path is
rewritten to that origin, so the message points into the file the user has open.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.suites.errors import Problem, SuiteError
from shared.suites.models import SuiteContent, parse_content

_CASE_PATH = re.compile(r"cases\[(\d+)\]\.?(.*)", re.S)
_CASE_MENTION = re.compile(r"cases\[(\d+)\]")
_BOM = "\ufeff"


def read_text(data: bytes | str, *, limit: int) -> str:
    """The input as text: at most `limit` bytes of UTF-8, a leading byte order mark dropped."""
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise SuiteError.at("", f"the input is {size:,} bytes; the limit is {limit:,}")
        return data.removeprefix(_BOM)
    if len(data) > limit:
        raise SuiteError.at("", f"the input is {len(data):,} bytes; the limit is {limit:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SuiteError.at(f"line {line}", "not valid UTF-8") from None


def text_value(value: Any) -> str | None:
    """A string, or a number written as text (CSV and YAML authors write answers like 42); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def split_tags(text: str) -> list[str]:
    """Tags from `a, b; c`: split on commas and semicolons, trimmed, empty ones and repeats dropped."""
    tags: dict[str, None] = {}
    for part in re.split(r"[,;]", text):
        if part.strip():
            tags.setdefault(part.strip(), None)
    return list(tags)


def relabel(error: SuiteError, origins: Sequence[str]) -> SuiteError:
    """`error` with each `cases[i]` path replaced by where case i came from (`line 7: template`)."""

    def origin_of(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return origins[index] if index < len(origins) else match.group(0)

    problems: list[Problem] = []
    for problem in error.problems:
        # Messages may mention another case too ("duplicate ... first at cases[0]").
        message = _CASE_MENTION.sub(origin_of, problem.message)
        match = _CASE_PATH.fullmatch(problem.path)
        if match is None or int(match.group(1)) >= len(origins):
            problems.append(Problem(problem.path, message))
            continue
        origin, rest = origins[int(match.group(1))], match.group(2)
        problems.append(Problem(f"{origin}: {rest}" if rest else origin, message))
    return SuiteError(problems, omitted=error.omitted)


def build_content(document: dict[str, Any], origins: Sequence[str]) -> SuiteContent:
    """Validate the assembled document; problems in cases point at their origins."""
    if not document.get("cases"):
        raise SuiteError.at("", "the input holds no cases")
    try:
        return parse_content(document)
    except SuiteError as exc:
        raise relabel(exc, origins) from None


def suite_fields(
    description: str | None, system_prompt: str | None, default_scorers: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The suite-level fields an importer was given, without the unset ones."""
    fields: dict[str, Any] = {
        "description": description,
        "system_prompt": system_prompt,
        "default_scorers": default_scorers,
    }
    return {key: value for key, value in fields.items() if value is not None}
