"""promptfoo assertions as TokenRoute scorer specs.

- `equals`: `{"type": "exact"}`, with v as the case's expected output
- `contains`, `icontains`: `{"type": "contains", "values": [v], "mode": "all", "case_sensitive": b}`
- `contains-any`, `icontains-any`: the same with every value and `"mode": "any"`
- `contains-all`, `icontains-all`: the same with every value and `"mode": "all"`
- `regex`: `{"type": "regex", "pattern": v}` (it must compile)
- `is-json`: `{"type": "json_valid"}`; with a value, `{"type": "json_schema", "schema": v}`
- `llm-rubric`: `{"type": "llm_judge", "rubric": v, "judge": {"provider": p, "model": m}}`, the
  judge from the assertion's `provider` or the test's `options.provider` (`openai:gpt-4o-mini`)

`weight` and `threshold` carry over. Assertions that run code (`javascript`, `python`, `webhook`,
a `transform`) are refused: no tenant code runs in the service. Anything else, `not-` negations
included, is reported as unsupported rather than dropped, so a suite never silently checks less
than its author wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from shared.suites.errors import Problem, SuiteError, join_path
from shared.suites.importers.source import text_value

REFUSED_TYPES: Final = frozenset({"javascript", "python", "webhook", "ruby", "fn", "eval"})
_CONTAINS: Final = {
    "contains": ("all", True),
    "icontains": ("all", False),
    "contains-any": ("any", True),
    "icontains-any": ("any", False),
    "contains-all": ("all", True),
    "icontains-all": ("all", False),
}
SUPPORTED_TYPES: Final = frozenset({"equals", "regex", "is-json", "llm-rubric", *_CONTAINS})
_ALLOWED_KEYS: Final = frozenset({"type", "value", "weight", "threshold", "metric", "description", "provider"})
NO_CODE: Final = "no tenant code runs in the service"
# promptfoo provider ids may name the API between provider and model: `openai:chat:gpt-4o`.
_API_KINDS: Final = frozenset({"chat", "completion", "messages", "responses"})


def _refuse_code(path: str, what: str) -> SuiteError:
    return SuiteError.at(path, f"{what} is refused: {NO_CODE}")


def _text(value: Any, path: str) -> str:
    text = text_value(value)
    if text is None:
        raise SuiteError.at(path, "must be a string")
    if text.startswith("file://"):
        raise SuiteError.at(path, "file:// references cannot be read here; paste the content")
    return text


def _values(value: Any, path: str) -> list[str]:
    # promptfoo takes a list, or one comma-separated string.
    if isinstance(value, list):
        return [_text(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return [part.strip() for part in _text(value, path).split(",") if part.strip()]


def judge_target(value: Any, path: str) -> dict[str, str]:
    """A judge target reference from a promptfoo provider id (`openai:gpt-4o-mini`, or `{id: ...}`)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    provider, _, model = value.partition(":") if isinstance(value, str) else ("", "", "")
    kind, _, rest = model.partition(":")
    if kind in _API_KINDS and rest:
        model = rest
    if not provider or not model:
        raise SuiteError.at(path, "a judge provider is written provider:model, e.g. openai:gpt-4o-mini")
    return {"provider": provider, "model": model}


def scorer_from_assert(item: Any, path: str, judge: Any = None) -> tuple[dict[str, Any], str | None]:
    """The scorer spec for one promptfoo assertion, and the expected output it implies (for `equals`).

    `judge` is the test's `options.provider`, used by `llm-rubric` unless the assertion names its own.
    """
    if not isinstance(item, Mapping):
        raise SuiteError.at(path, "an assertion is a mapping with a type")
    kind = item.get("type")
    if not isinstance(kind, str):
        raise SuiteError.at(join_path(path, "type"), "must be a string")
    if kind in REFUSED_TYPES:
        raise _refuse_code(join_path(path, "type"), f"assertion type {kind!r}")
    if "transform" in item:
        raise _refuse_code(join_path(path, "transform"), "a transform")
    if kind not in SUPPORTED_TYPES:
        supported = ", ".join(sorted(SUPPORTED_TYPES))
        raise SuiteError.at(join_path(path, "type"), f"unsupported assertion type {kind!r} (supported: {supported})")
    unknown = sorted(str(key) for key in item if key not in _ALLOWED_KEYS)
    if unknown:
        raise SuiteError.at(join_path(path, unknown[0]), "not supported in an assertion")
    value_path = join_path(path, "value")
    value = item.get("value")
    spec: dict[str, Any]
    expected: str | None = None
    if kind == "equals":
        # TokenRoute's exact scorer compares with the case's expected output.
        expected = _text(value, value_path)
        spec = {"type": "exact"}
    elif kind in _CONTAINS:
        mode, case_sensitive = _CONTAINS[kind]
        values = [_text(value, value_path)] if kind in ("contains", "icontains") else _values(value, value_path)
        if not values:
            raise SuiteError.at(value_path, "needs at least one value")
        spec = {"type": "contains", "values": values, "mode": mode, "case_sensitive": case_sensitive}
    elif kind == "regex":
        pattern = _text(value, value_path)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SuiteError.at(value_path, f"not a valid regular expression: {exc}") from None
        spec = {"type": "regex", "pattern": pattern}
    elif kind == "is-json":
        if value is None:
            spec = {"type": "json_valid"}
        elif isinstance(value, Mapping):
            spec = {"type": "json_schema", "schema": dict(value)}
        else:
            raise SuiteError.at(value_path, "an is-json value is a JSON schema (a mapping)")
    else:  # llm-rubric
        provider_path = join_path(path, "provider")
        if item.get("provider", judge) is None:
            raise SuiteError.at(
                provider_path, "llm-rubric needs a judge: give provider (or the test's options.provider)"
            )
        target = judge_target(item.get("provider", judge), provider_path)
        spec = {"type": "llm_judge", "rubric": _text(value, value_path), "judge": target}
    for key in ("weight", "threshold"):
        if key in item:
            number = item[key]
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise SuiteError.at(join_path(path, key), "must be a number")
            spec[key] = number
    return spec, expected


def scorers_from_asserts(items: Any, path: str, judge: Any = None) -> tuple[list[dict[str, Any]], str | None]:
    """Scorer specs for a promptfoo `assert` list, and its `equals` value as the expected output.

    Two `equals` with different values cannot both hold for one expected output: that is an error.
    """
    if not isinstance(items, list):
        raise SuiteError.at(path, "must be a list of assertions")
    specs: list[dict[str, Any]] = []
    expected: str | None = None
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            spec, implied = scorer_from_assert(item, f"{path}[{index}]", judge)
        except SuiteError as exc:
            problems.extend(exc.problems)
            continue
        if implied is not None and expected is not None:
            if implied != expected:
                problems.append(Problem(f"{path}[{index}].value", f"a second equals, other than {expected!r}"))
            continue  # one exact scorer per expected output is enough
        specs.append(spec)
        expected = expected if expected is not None else implied
    if problems:
        raise SuiteError(problems)
    return specs, expected


# promptfoo's `__expected` CSV column: `type: value`, or plain text meaning `equals`.
_EXPECTED_PREFIX = re.compile(r"(?P<type>[a-z][a-z-]*):\s?(?P<value>.*)", re.S)
_EXPECTED_ALIASES: Final = {"grade": "llm-rubric"}


def scorer_from_expected(text: str, path: str) -> tuple[dict[str, Any], str | None]:
    """The scorer for one promptfoo `__expected` cell (`contains: Paris`, `is-json`, or plain text for equals)."""
    stripped = text.strip()
    if stripped in ("is-json",):
        return scorer_from_assert({"type": stripped}, path)
    match = _EXPECTED_PREFIX.fullmatch(stripped)
    if match is not None:
        kind = _EXPECTED_ALIASES.get(match["type"], match["type"])
        if kind in REFUSED_TYPES:
            raise _refuse_code(path, f"assertion type {match['type']!r}")
        if kind in SUPPORTED_TYPES or kind.startswith("not-"):
            return scorer_from_assert({"type": kind, "value": match["value"]}, path)
    return scorer_from_assert({"type": "equals", "value": text}, path)
