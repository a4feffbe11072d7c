"""Import a promptfoo-style YAML config: `prompts`, `tests` (vars and assert), `defaultTest`.

Each test becomes one case per prompt (`case-<test number>`, or `case-<test>-p<prompt>` when
there are several prompts). `defaultTest.vars` fill in under each test's vars and
`defaultTest.assert` becomes the suite's default scorers; assertions map to scorers as
`assertions` describes. A prompt is a template string, or a JSON list of chat messages (promptfoo's
chat format); `file://` references cannot be read here. `options.provider` (of a test or of
`defaultTest`) names the judge of `llm-rubric`; other options are refused, transforms because they
are code. `providers` and other run settings are ignored: targets are chosen when a run starts.

Parsing is `yaml.safe_load` only (no Python tags), on bounded input; aliases are allowed but the
expanded document is bounded too. Errors name the config path: `tests[3].assert[0].type: ...`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any, Final

from shared.suites import limits
from shared.suites.errors import Problem, SuiteError
from shared.suites.importers.assertions import NO_CODE, scorers_from_asserts
from shared.suites.importers.source import build_content, read_text
from shared.suites.models import SuiteContent

# Settings of a promptfoo run that do not describe cases; a suite does not need them.
IGNORED_KEYS: Final = frozenset(
    {
        "providers",
        "targets",
        "outputPath",
        "sharing",
        "evaluateOptions",
        "commandLineOptions",
        "env",
        "metadata",
        "tags",
        "writeLatestResults",
    }
)
CODE_KEYS: Final = frozenset({"extensions", "nunjucksFilters", "derivedMetrics"})
TEST_KEYS: Final = frozenset({"description", "vars", "assert", "metadata", "options"})
# Test options that hold code (JavaScript or Python) in promptfoo.
CODE_OPTIONS: Final = frozenset({"transform", "transformVars", "postprocess"})


def _load(text: str) -> Any:
    # Imported here so that `shared.suites` loads without PyYAML; only this importer needs it.
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise SuiteError.at(where, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SuiteError.at("", f"not valid YAML: {exc}") from None
    except RecursionError:
        raise SuiteError.at("", "the YAML is nested too deeply") from None


def _check_expanded_size(document: Any) -> None:
    """Refuse documents whose aliases expand to too many values (each alias is walked again later)."""
    pending, count = [document], 0
    while pending:
        value = pending.pop()
        count += 1
        if count > limits.MAX_YAML_NODES:
            raise SuiteError.at("", f"the YAML expands to more than {limits.MAX_YAML_NODES:,} values")
        if isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SuiteError.at(path, "must be a mapping")
    return value


def _prompt(value: Any, path: str) -> dict[str, Any]:
    """A case's prompt part from one entry of `prompts`: `{"template": ...}` or `{"messages": [...]}`."""
    if isinstance(value, Mapping):
        if isinstance(value.get("id"), str) and value["id"].startswith("file://"):
            raise SuiteError.at(f"{path}.id", "file:// prompts cannot be read here; paste the template as raw")
        value = value.get("raw")
        path = f"{path}.raw"
    if not isinstance(value, str):
        raise SuiteError.at(path, "a prompt is a template string (or a mapping with raw)")
    if value.startswith("file://"):
        raise SuiteError.at(path, "file:// prompts cannot be read here; paste the template")
    if value.lstrip().startswith("["):
        # promptfoo's chat format: a JSON list of messages, with {{ vars }} inside their content.
        try:
            messages = json.loads(value)
        except json.JSONDecodeError:
            messages = None
        if isinstance(messages, list) and all(isinstance(item, dict) and "role" in item for item in messages):
            return {"messages": messages}
    return {"template": value}


def _prompts(document: Mapping[str, Any], template: str | None) -> list[dict[str, Any]]:
    raw = document.get("prompts")
    if raw is None:
        if template is None:
            raise SuiteError.at("prompts", "give at least one prompt template")
        return [{"template": template}]
    entries = raw if isinstance(raw, list) else [raw]
    if not entries:
        raise SuiteError.at("prompts", "give at least one prompt template")
    return [_prompt(entry, f"prompts[{index}]") for index, entry in enumerate(entries)]


def _var(value: Any, path: str) -> Any:
    if isinstance(value, datetime.date):
        # YAML reads an unquoted 2024-01-31 as a date; the author meant the text.
        return value.isoformat()
    if isinstance(value, list):
        raise SuiteError.at(path, "a list of values makes several tests in promptfoo; write one test per value")
    if isinstance(value, str) and value.startswith("file://"):
        raise SuiteError.at(path, "file:// values cannot be read here; paste the value")
    return value


def _vars(value: Any, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, item in _mapping(value, path).items():
        if not isinstance(name, str):
            raise SuiteError.at(path, f"variable names are strings, not {name!r}")
        result[name] = _var(item, f"{path}.{name}")
    return result


def _check_keys(value: Mapping[str, Any], path: str) -> None:
    for key in value:
        if key not in TEST_KEYS:
            raise SuiteError.at(f"{path}.{key}", "not supported in a test")


def _judge(test: Mapping[str, Any], path: str, default: Any) -> Any:
    """The test's `options.provider` (the judge of its llm-rubric assertions), else `default`."""
    options = _mapping(test.get("options"), f"{path}.options")
    for key in options:
        if key in CODE_OPTIONS:
            raise SuiteError.at(f"{path}.options.{key}", f"refused: {NO_CODE}")
        if key != "provider":
            raise SuiteError.at(f"{path}.options.{key}", "not supported (only provider, the judge)")
    return options.get("provider", default)


def _test_cases(
    test: Any, index: int, prompts: list[dict[str, Any]], defaults: dict[str, Any], judge: Any
) -> list[tuple[dict[str, Any], str]]:
    """The cases of `tests[index]` (one per prompt), each with its origin."""
    path = f"tests[{index}]"
    if not isinstance(test, Mapping):
        raise SuiteError.at(path, "a test is a mapping (file:// references cannot be read here)")
    _check_keys(test, path)
    variables = {**defaults, **_vars(test.get("vars"), f"{path}.vars")}
    scorers, expected = scorers_from_asserts(test.get("assert") or [], f"{path}.assert", _judge(test, path, judge))
    cases: list[tuple[dict[str, Any], str]] = []
    for number, prompt in enumerate(prompts, start=1):
        case: dict[str, Any] = {"id": f"case-{index + 1}" if len(prompts) == 1 else f"case-{index + 1}-p{number}"}
        case.update(prompt)
        if variables:
            case["vars"] = variables
        if expected is not None:
            case["expected"] = expected
        if scorers:
            case["scorers"] = scorers
        origin = path if len(prompts) == 1 else f"{path} with prompts[{number - 1}]"
        cases.append((case, origin))
    return cases


def import_promptfoo_yaml(data: bytes | str, *, template: str | None = None) -> SuiteContent:
    """Suite content from a promptfoo-style YAML config; raise `SuiteError` with config paths.

    `template` serves configs without `prompts` (promptfoo also takes them from its command line).
    """
    document = _load(read_text(data, limit=limits.MAX_YAML_BYTES))
    _check_expanded_size(document)
    if not isinstance(document, Mapping):
        raise SuiteError.at("", "the YAML must be a mapping with tests")
    for key in document:
        if key in CODE_KEYS:
            raise SuiteError.at(str(key), f"refused: {NO_CODE}")
        if key not in IGNORED_KEYS | {"description", "prompts", "tests", "defaultTest"}:
            raise SuiteError.at(str(key), "not supported by this importer")
    prompts = _prompts(document, template)
    default_test = _mapping(document.get("defaultTest"), "defaultTest")
    _check_keys(default_test, "defaultTest")
    defaults = _vars(default_test.get("vars"), "defaultTest.vars")
    judge = _judge(default_test, "defaultTest", None)
    default_scorers, default_expected = scorers_from_asserts(
        default_test.get("assert") or [], "defaultTest.assert", judge
    )
    if default_expected is not None:
        # An expected output belongs to a case; the same answer for every test is not what equals meant here.
        raise SuiteError.at("defaultTest.assert", "equals is not supported in defaultTest; put it in each test")
    tests = document.get("tests")
    if not isinstance(tests, list) or not tests:
        raise SuiteError.at("tests", "give a list of tests (file:// references cannot be read here)")
    cases: list[dict[str, Any]] = []
    origins: list[str] = []
    problems: list[Problem] = []
    for index, test in enumerate(tests):
        try:
            for case, origin in _test_cases(test, index, prompts, defaults, judge):
                cases.append(case)
                origins.append(origin)
        except SuiteError as exc:
            problems.extend(exc.problems)
        if len(cases) > limits.MAX_CASES:
            problems.append(Problem(f"tests[{index}]", f"more than {limits.MAX_CASES:,} cases"))
            break
    if problems:
        raise SuiteError(problems)
    suite: dict[str, Any] = {"cases": cases}
    if document.get("description") is not None:
        suite["description"] = document["description"]
    if default_scorers:
        suite["default_scorers"] = default_scorers
    return build_content(suite, origins)
