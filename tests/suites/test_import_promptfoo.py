"""promptfoo YAML import: prompts × tests, vars, assert → scorers, defaultTest, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.suites import limits
from shared.suites.errors import SuiteError
from shared.suites.importers import import_promptfoo_yaml

CONFIG = """
description: Capitals
providers: [openai:gpt-4o-mini]
prompts:
  - "Capital of {{country}}? Answer {{style}}."
  - '[{"role": "system", "content": "Answer {{style}}."}, {"role": "user", "content": "{{country}}?"}]'
defaultTest:
  options:
    provider: openai:chat:gpt-4o-mini
  vars:
    style: briefly
  assert:
    - type: icontains
      value: "{{country}}"
tests:
  - description: France
    vars:
      country: France
    assert:
      - type: equals
        value: Paris
      - type: contains-any
        value: [Paris, paris]
        weight: 2
  - vars:
      country: Japan
      style: in kanji
      since: 1868-10-23
    assert:
      - type: regex
        value: "\\\\w+"
      - type: is-json
      - type: is-json
        value: {type: object}
      - type: llm-rubric
        value: names Tokyo
        threshold: 0.8
      - type: llm-rubric
        value: is polite
        provider: {id: "anthropic:messages:claude-haiku"}
      - type: contains-all
        value: "Tokyo, Japan"
"""


def problems(text: str, template: str | None = None) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        import_promptfoo_yaml(text, template=template)
    return [str(problem) for problem in caught.value.problems]


def test_imports_prompts_times_tests_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    content = import_promptfoo_yaml(path.read_bytes())
    assert content.description == "Capitals"
    assert [case.id for case in content.cases] == ["case-1-p1", "case-1-p2", "case-2-p1", "case-2-p2"]
    france, france_chat, japan, _ = content.cases
    assert france.vars == {"style": "briefly", "country": "France"}
    assert france.expected == "Paris"
    assert france.scorers == [
        {"type": "exact"},
        {"type": "contains", "values": ["Paris", "paris"], "mode": "any", "case_sensitive": True, "weight": 2},
    ]
    assert [m.content for m in content.render_case(france_chat)] == ["Answer briefly.", "France?"]
    assert content.render_case(france)[0].content == "Capital of France? Answer briefly."
    # Test vars win over defaultTest vars; unquoted YAML dates stay the text that was written.
    assert japan.vars == {"style": "in kanji", "country": "Japan", "since": "1868-10-23"}
    assert japan.expected is None
    assert japan.scorers == [
        {"type": "regex", "pattern": "\\w+"},
        {"type": "json_valid"},
        {"type": "json_schema", "schema": {"type": "object"}},
        {
            "type": "llm_judge",
            "rubric": "names Tokyo",
            "judge": {"provider": "openai", "model": "gpt-4o-mini"},
            "threshold": 0.8,
        },
        {"type": "llm_judge", "rubric": "is polite", "judge": {"provider": "anthropic", "model": "claude-haiku"}},
        {"type": "contains", "values": ["Tokyo", "Japan"], "mode": "all", "case_sensitive": True},
    ]
    assert content.default_scorers == [
        {"type": "contains", "values": ["{{country}}"], "mode": "all", "case_sensitive": False}
    ]


def test_one_prompt_gives_plain_ids_and_a_given_template_serves_configs_without_prompts() -> None:
    content = import_promptfoo_yaml("tests:\n  - vars: {q: a}\n  - vars: {q: b}\n", template="Q: {{q}}")
    assert [(case.id, case.template) for case in content.cases] == [("case-1", "Q: {{q}}"), ("case-2", "Q: {{q}}")]
    assert problems("tests:\n  - vars: {q: a}\n") == ["prompts: give at least one prompt template"]


def test_code_is_refused_with_a_clear_error() -> None:
    config = """
prompts: ["{{q}}"]
tests:
  - vars: {q: x}
    assert:
      - type: equals
        value: x
      - type: javascript
        value: output.length > 3
      - type: python
        value: len(output) > 3
  - vars: {q: y}
    assert:
      - type: contains
        value: y
        transform: output.toUpperCase()
  - vars: {q: z}
    options:
      transform: output.trim()
  - vars: {q: w}
    assert:
      - type: equals
        value: w
      - type: equals
        value: v
      - type: llm-rubric
        value: good
"""
    assert problems(config) == [
        "tests[0].assert[1].type: assertion type 'javascript' is refused: no tenant code runs in the service",
        "tests[0].assert[2].type: assertion type 'python' is refused: no tenant code runs in the service",
        "tests[1].assert[0].transform: a transform is refused: no tenant code runs in the service",
        "tests[2].options.transform: refused: no tenant code runs in the service",
        "tests[3].assert[1].value: a second equals, other than 'w'",
        "tests[3].assert[2].provider: llm-rubric needs a judge: give provider (or the test's options.provider)",
    ]
    assert problems("nunjucksFilters: {x: ./x.js}\ntests: []\n") == [
        "nunjucksFilters: refused: no tenant code runs in the service"
    ]


def test_unsupported_and_malformed_parts_name_their_path() -> None:
    config = """
prompts: ["{{q}}", "file://prompt.txt"]
tests: []
"""
    assert problems(config) == ["prompts[1]: file:// prompts cannot be read here; paste the template"]
    config = """
prompts: ["{{q}}"]
scenarios: []
tests: []
"""
    assert problems(config) == ["scenarios: not supported by this importer"]
    config = """
prompts: ["{{q}} {{r}}"]
tests:
  - vars: {q: [a, b], r: x}
  - vars: {q: file://q.txt, r: x}
  - vars: {q: a, r: x}
    assert:
      - type: not-contains
        value: x
      - type: regex
        value: "("
      - contains
  - vars: {q: a}
"""
    found = problems(config)
    assert found[:5] == [
        "tests[0].vars.q: a list of values makes several tests in promptfoo; write one test per value",
        "tests[1].vars.q: file:// values cannot be read here; paste the value",
        "tests[2].assert[0].type: unsupported assertion type 'not-contains' (supported: contains, contains-all, "
        "contains-any, equals, icontains, icontains-all, icontains-any, is-json, llm-rubric, regex)",
        "tests[2].assert[1].value: not a valid regular expression: missing ), unterminated subpattern at position 0",
        "tests[2].assert[2]: an assertion is a mapping with a type",
    ]
    # Content checks run once the config itself is sound; they point at the test.
    assert problems('prompts: ["{{q}} {{r}}"]\ntests:\n  - vars: {q: a}\n') == [
        "tests[0]: template: unknown variable 'r' (this case's vars: q)"
    ]


def test_yaml_errors_name_their_line_and_python_tags_are_not_constructed() -> None:
    assert problems("tests:\n  - vars: {q: 1}\n  - [unclosed\n") == [
        "line 4: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]
    found = problems("!!python/object/apply:os.system ['echo pwned']\n")
    assert found == [
        "line 1: not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    ]
    assert problems("- just\n- a list\n") == ["the YAML must be a mapping with tests"]


def test_alias_expansion_and_input_size_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index, name in enumerate("bcdef"):
        previous = "abcdef"[index]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    levels.append("g: [" + ", ".join(["*f"] * 10) + "]")
    assert problems("\n".join(levels)) == ["the YAML expands to more than 1,000,000 values"]
    monkeypatch.setattr(limits, "MAX_YAML_BYTES", 8)
    assert problems("tests: [1, 2, 3]") == ["the input is 16 bytes; the limit is 8"]
