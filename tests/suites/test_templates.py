"""`{{ name }}` templates: substitution, the raw escape, and refusal of everything else."""

from __future__ import annotations

import pytest

from shared.suites.errors import TemplateError
from shared.suites.templates import (
    Placeholder,
    VarValue,
    format_value,
    parse,
    render,
    rendered_length,
    variables,
)


def test_substitutes_simple_variables_with_optional_spaces() -> None:
    assert render("Hi {{name}}, {{ name }} is {{  age }}.", {"name": "Ada", "age": 36}) == "Hi Ada, Ada is 36."


def test_values_are_written_like_nunjucks_prints_them() -> None:
    assert [format_value(value) for value in ("x", True, False, 3, 2.5, 1e21)] == [
        "x",
        "true",
        "false",
        "3",
        "2.5",
        "1e+21",
    ]


def test_substitution_is_one_pass_so_values_are_never_expanded() -> None:
    assert render("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"


def test_raw_blocks_keep_braces_literal() -> None:
    text = "Fill {{ slot }} in: {% raw %}{{ handlebars }} {% if %}{% endraw %}!"
    assert variables(text) == ["slot"]
    assert render(text, {"slot": "x"}) == "Fill x in: {{ handlebars }} {% if %}!"


def test_single_braces_and_lone_closers_are_text() -> None:
    text = 'JSON like {"a": {"b": 1}} and }} stay'
    assert parse(text) == (text,)


def test_variables_in_first_use_order() -> None:
    assert variables("{{b}} {{a}} {{b}}") == ["b", "a"]
    assert parse("x{{a}}") == ("x", Placeholder("a"))


def test_unknown_variable_is_an_error() -> None:
    with pytest.raises(TemplateError, match="unknown variable 'missing'"):
        render("{{ missing }}", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ user.name }}", "only {{ name }} placeholders"),
        ("{{ name | upper }}", "only {{ name }} placeholders"),
        ("{{ 1 + 2 }}", "only {{ name }} placeholders"),
        ("{{}}", "only {{ name }} placeholders"),
        ("{{- name -}}", "only {{ name }} placeholders"),
        ("open {{ name", "never closed"),
        ("{% if x %}y{% endif %}", "template tags are not supported"),
        ("{% raw %} never ends", "has no {% endraw %}"),
        ("{% raw", "template tags are not supported"),
    ],
)
def test_anything_but_simple_placeholders_is_refused(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_rendered_length_matches_render() -> None:
    text = "{{a}}-{{b}}-{{a}}"
    values: dict[str, VarValue] = {"a": "xyz", "b": True}
    assert rendered_length(text, values) == len(render(text, values)) == len("xyz-true-xyz")
