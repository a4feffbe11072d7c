"""Suite content: the case shape, rendering, limits and checks, each error with its field path."""

from __future__ import annotations

from typing import Any

import pytest

from shared.suites import limits
from shared.suites import scorers as scorer_hook
from shared.suites.errors import MAX_REPORTED_PROBLEMS, SuiteError, TemplateError
from shared.suites.models import Case, Message, SuiteContent, parse_content, render


def paths(document: dict[str, Any]) -> list[str]:
    """The problem paths `parse_content` reports for `document`."""
    with pytest.raises(SuiteError) as caught:
        parse_content(document)
    return [problem.path for problem in caught.value.problems]


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_template_case_renders_to_one_user_message() -> None:
    case = Case(id="q1", template="What is {{a}} + {{b}}?", vars={"a": 2, "b": 2.5})
    assert render(case) == [Message(role="user", content="What is 2 + 2.5?")]


def test_messages_are_templates_too_and_the_system_prompt_goes_first() -> None:
    content = parse_content(
        {
            "system_prompt": "Answer in {{lang}}.",
            "cases": [
                {
                    "id": "chat",
                    "messages": [
                        {"role": "user", "content": "Hi {{name}}"},
                        {"role": "assistant", "content": "Hello"},
                        {"role": "user", "content": "Again"},
                    ],
                    "vars": {"name": "Ada", "lang": "French"},
                },
                {"id": "own-system", "messages": [{"role": "system", "content": "Be brief."}, *messages("x")]},
            ],
        }
    )
    assert [(m.role, m.content) for m in content.render_case(content.cases[0])] == [
        ("system", "Answer in French."),
        ("user", "Hi Ada"),
        ("assistant", "Hello"),
        ("user", "Again"),
    ]
    # A case with its own system message keeps it, and needs none of the system prompt's vars.
    assert [m.content for m in content.render_case(content.cases[1])] == ["Be brief.", "x"]


def test_rendering_may_exceed_the_input_limit_up_to_the_render_limit() -> None:
    value = "v" * limits.MAX_TEXT_CHARS
    case = Case(id="big", template="{{v}}{{v}}", vars={"v": value})
    assert len(render(case)[0].content) == 2 * limits.MAX_TEXT_CHARS


def test_render_of_an_unvalidated_case_names_the_text_at_fault() -> None:
    case = Case.model_construct(id="x", messages=[Message(role="user", content="{{gone}}")], template=None, vars=None)
    with pytest.raises(TemplateError) as caught:
        render(case)
    assert str(caught.value) == "messages[0].content: unknown variable 'gone'"


@pytest.mark.parametrize(
    ("case", "path", "message"),
    [
        ({"id": "a"}, "cases[0]", "exactly one of messages or template"),
        ({"id": "a", "template": "x", "messages": messages("y")}, "cases[0]", "exactly one of"),
        ({"id": "a", "template": "{{q}}"}, "cases[0].template", "unknown variable 'q'"),
        ({"id": "a", "messages": messages("{{ q.x }}")}, "cases[0].messages[0].content", "only {{ name }}"),
        ({"id": "a b", "template": "x"}, "cases[0].id", "a case id is 1-128"),
        ({"id": "x" * 129, "template": "x"}, "cases[0].id", "a case id is 1-128"),
        ({"id": "a", "messages": []}, "cases[0].messages", "at least 1 item"),
        ({"id": "a", "messages": [{"role": "tool", "content": "x"}]}, "cases[0].messages[0].role", "'system'"),
        ({"id": "a", "template": "x", "extra": 1}, "cases[0].extra", "Extra inputs are not permitted"),
        ({"id": "a", "template": "x", "vars": {"1st": "v"}}, 'cases[0].vars["1st"]', "not a variable name"),
        ({"id": "a", "template": "x", "vars": {"v": [1]}}, "cases[0].vars.v", "string, number or boolean"),
        ({"id": "a", "template": "x", "vars": {"v": None}}, "cases[0].vars.v", "not null"),
        ({"id": "a", "template": "x", "vars": {"v": float("inf")}}, "cases[0].vars.v", "finite"),
        ({"id": "a", "template": "x", "vars": {"v": 2**60}}, "cases[0].vars.v", "2^53"),
        ({"id": "a", "template": "x", "tags": ["t", "t"]}, "cases[0].tags[1]", "duplicate tag"),
        ({"id": "a", "template": "x", "tags": [" t"]}, "cases[0].tags[0]", "surrounding spaces"),
        (
            {"id": "a", "template": "x", "scorers": [{"type": "regex", "flags": {1, 2}}]},
            "cases[0].scorers[0].flags",
            "not a JSON value",
        ),
        ({"id": "a", "template": "x", "scorers": [{"kind": "exact"}]}, "cases[0].scorers", "non-empty string type"),
        ({"id": "a", "template": "bad \ud800"}, "cases[0].template", "unicode"),
        ({"id": "a", "template": "x", "vars": {"v": "bad \ud800"}}, "cases[0].vars.v", "lone surrogate"),
        ({"id": "a", "template": "x", "scorers": [{"type": "a", "v": ["\udfff"]}]}, "cases[0].scorers[0].v[0]", "lone"),
    ],
)
def test_case_problems_carry_their_field_path(case: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(SuiteError) as caught:
        parse_content({"cases": [case]})
    problems = [(problem.path, problem.message) for problem in caught.value.problems]
    assert any(found_path == path and message in found for found_path, found in problems), problems


def test_limits_name_the_field() -> None:
    long_text = "x" * (limits.MAX_TEXT_CHARS + 1)
    cases: list[dict[str, Any]] = [{"id": f"c{i}", "template": "ok"} for i in range(13)]
    cases[12] = {"id": "c12", "messages": [*messages(long_text)]}
    cases[3] = {"id": "c3", "template": "x", "expected": "e" * (limits.MAX_EXPECTED_CHARS + 1)}
    cases[4] = {"id": "c4", "template": "x", "tags": [f"t{i}" for i in range(limits.MAX_TAGS + 1)]}
    cases[5] = {"id": "c5", "template": "x", "scorers": [{"type": "exact"}] * (limits.MAX_SCORERS + 1)}
    cases[6] = {"id": "c6", "template": "{{v}}" * 5, "vars": {"v": "y" * limits.MAX_TEXT_CHARS}}
    assert paths({"cases": cases, "system_prompt": long_text}) == [
        "system_prompt",
        "cases[3].expected",
        "cases[4].tags",
        "cases[5].scorers",
        "cases[6].template",
        "cases[12].messages[0].content",
    ]


def test_case_count_limit() -> None:
    cases = [{"id": f"c{i}", "template": "x"} for i in range(limits.MAX_CASES + 1)]
    assert paths({"cases": cases}) == ["cases"]
    assert paths({"cases": []}) == ["cases"]


def test_duplicate_case_ids_point_at_the_repeat() -> None:
    with pytest.raises(SuiteError) as caught:
        parse_content(
            {"cases": [{"id": "a", "template": "x"}, {"id": "b", "template": "x"}, {"id": "a", "template": "y"}]}
        )
    assert str(caught.value) == "cases[2].id: duplicate case id 'a' (first at cases[0])"


def test_system_prompt_variables_must_exist_in_each_case_that_uses_it() -> None:
    document = {
        "system_prompt": "Use {{style}}",
        "cases": [{"id": "a", "template": "x", "vars": {"style": "haiku"}}, {"id": "b", "template": "x"}],
    }
    with pytest.raises(SuiteError) as caught:
        parse_content(document)
    assert str(caught.value) == "cases[1]: system_prompt: unknown variable 'style' (this case's vars: none)"
    assert paths({"system_prompt": "{% if %}", "cases": [{"id": "a", "template": "x"}]}) == ["system_prompt"]


def test_empty_vars_are_no_vars() -> None:
    assert Case(id="a", template="x", vars={}).vars is None


def test_scorers_go_through_the_hook_with_whether_the_case_has_an_expected_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, bool]] = []

    def needs_expected(specs: list[dict[str, Any]], has_expected: bool) -> list[str]:
        calls.append((len(specs), has_expected))
        if any("type" not in spec for spec in specs):
            return ["every scorer needs a type"]
        return [] if has_expected or all(s["type"] != "exact" for s in specs) else ["exact needs an expected output"]

    monkeypatch.setattr(scorer_hook, "validate_scorers", needs_expected)
    ok = {"id": "ok", "template": "x", "expected": "y", "scorers": [{"type": "exact"}]}
    bad = {"id": "bad", "template": "x", "scorers": [{"type": "exact"}]}
    assert paths({"cases": [ok, bad]}) == ["cases[1].scorers"]
    assert (1, True) in calls
    assert (1, False) in calls

    # A case is checked with the defaults and its own scorers together.
    plain = {"id": "plain", "template": "x", "scorers": [{"type": "contains"}]}
    with pytest.raises(SuiteError) as caught:
        parse_content({"default_scorers": [{"type": "exact"}], "cases": [ok, plain]})
    assert str(caught.value) == "cases[1].scorers: exact needs an expected output"
    content = parse_content({"default_scorers": [{"type": "regex"}], "cases": [plain]})
    assert content.scorers_for(content.cases[0]) == [{"type": "regex"}, {"type": "contains"}]
    # Broken defaults are reported once, not for every case.
    with pytest.raises(SuiteError) as caught:
        parse_content({"default_scorers": [{"kind": "x"}], "cases": [plain, ok]})
    assert [problem.path for problem in caught.value.problems] == ["default_scorers"]


def test_problem_lists_are_capped() -> None:
    cases = [{"id": f"c{i}", "template": "{{missing}}"} for i in range(MAX_REPORTED_PROBLEMS + 7)]
    with pytest.raises(SuiteError) as caught:
        parse_content({"cases": cases})
    assert len(caught.value.problems) == MAX_REPORTED_PROBLEMS
    assert caught.value.omitted == 7
    assert str(caught.value).endswith("; and 7 more")


def test_content_is_immutable() -> None:
    content = SuiteContent(cases=[Case(id="a", template="x")])
    with pytest.raises(ValueError, match="frozen"):
        content.description = "changed"  # type: ignore[misc]
