"""Import cases from JSON Lines: one JSON object per line.

Fields of a line: `id` (optional: `case-<line number>` when absent, so ids stay put when lines
are added at the end), the prompt as exactly one of `messages` (a list of `{role, content}`),
`template` or `prompt` (a string template, or a list of messages) or `input` (OpenAI evals'
name, same forms), `vars`, the expected output as one of `expected`, `ideal` or `answer`, `tags`
(a list, or one string separated by commas or semicolons) and `scorers`. Blank lines are
skipped; anything else that is not such an object is an error that names its line.
"""

from __future__ import annotations

import json
from typing import Any, Final

from shared.suites import limits
from shared.suites.errors import Problem, SuiteError
from shared.suites.importers.source import build_content, read_text, split_tags, suite_fields, text_value
from shared.suites.models import SuiteContent

PROMPT_FIELDS: Final = ("messages", "template", "prompt", "input")
EXPECTED_FIELDS: Final = ("expected", "ideal", "answer")
FIELDS: Final = frozenset({"id", "vars", "tags", "scorers", *PROMPT_FIELDS, *EXPECTED_FIELDS})


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key is almost always a mistake that json.loads would hide by keeping the last.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _load_line(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _case(record: dict[str, Any], line: int) -> dict[str, Any]:
    """The case dict of one line (its values are validated later, with the whole suite)."""
    unknown = sorted(key for key in record if key not in FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(FIELDS))})")
    prompts = [key for key in PROMPT_FIELDS if key in record]
    if len(prompts) != 1:
        raise ValueError("give exactly one of " + ", ".join(PROMPT_FIELDS))
    case: dict[str, Any] = {}
    raw_id = record.get("id")
    if raw_id is None:
        case["id"] = f"case-{line}"
    elif isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError("id must be a string")
    else:
        case["id"] = str(raw_id)
    prompt = record[prompts[0]]
    if prompts[0] == "messages" or isinstance(prompt, list):
        case["messages"] = prompt
    elif isinstance(prompt, str):
        case["template"] = prompt
    else:
        raise ValueError(f"{prompts[0]} must be a string or a list of messages")
    answers = [key for key in EXPECTED_FIELDS if key in record and record[key] is not None]
    if len(answers) > 1:
        raise ValueError("give at most one of " + ", ".join(EXPECTED_FIELDS))
    if answers:
        expected = text_value(record[answers[0]])
        if expected is None:
            raise ValueError(f"{answers[0]} must be a string (one expected output)")
        case["expected"] = expected
    tags = record.get("tags")
    if isinstance(tags, str):
        case["tags"] = split_tags(tags)
    elif tags is not None:
        case["tags"] = tags
    for key in ("vars", "scorers"):
        if record.get(key) is not None:
            case[key] = record[key]
    return case


def import_jsonl(
    data: bytes | str,
    *,
    description: str | None = None,
    system_prompt: str | None = None,
    default_scorers: list[dict[str, Any]] | None = None,
) -> SuiteContent:
    """Suite content from JSON Lines; raise `SuiteError` whose problems name their lines (`line 7: ...`)."""
    text = read_text(data, limit=limits.MAX_IMPORT_BYTES)
    cases: list[dict[str, Any]] = []
    origins: list[str] = []
    problems: list[Problem] = []
    # Only \n ends a line: str.splitlines would also split at U+2028 and others, which JSON
    # strings may contain raw.
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = _load_line(line)
            if not isinstance(record, dict):
                raise ValueError("each line must be a JSON object")
            cases.append(_case(record, number))
            origins.append(f"line {number}")
        except ValueError as exc:
            problems.append(Problem(f"line {number}", str(exc)))
        if len(cases) > limits.MAX_CASES:
            problems.append(Problem(f"line {number}", f"more than {limits.MAX_CASES:,} cases"))
            break
    if problems:
        raise SuiteError(problems)
    document = {**suite_fields(description, system_prompt, default_scorers), "cases": cases}
    return build_content(document, origins)
