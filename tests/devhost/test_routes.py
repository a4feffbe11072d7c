"""Route templates: parameters, constraints, optional and catch-all segments, precedence."""

from __future__ import annotations

import pytest

from shared.devhost.routes import RouteTemplate


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate.parse(template).match(path)


def test_literals_match_case_insensitively() -> None:
    assert match("health", "health") == {}
    assert match("health", "HEALTH") == {}
    assert match("/v1/me/", "v1/me") == {}
    assert match("health", "healthz") is None
    assert match("health", "health/x") is None


def test_parameters_are_decoded() -> None:
    assert match("items/{id}", "items/a%20b") == {"id": "a b"}
    assert match("items/{id}", "items") is None
    assert match("items/{id}", "items/a/b") is None


def test_int_constraint() -> None:
    assert match("items/{id:int}", "items/42") == {"id": "42"}
    assert match("items/{id:int}", "items/-7") == {"id": "-7"}
    assert match("items/{id:int}", "items/abc") is None
    assert match("items/{id:int}", "items/2147483648") is None  # beyond Int32, like ASP.NET
    assert match("items/{id:long}", "items/2147483648") == {"id": "2147483648"}


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("{x:alpha}", "abcXYZ", "abc1"),
        ("{x:bool}", "True", "yes"),
        ("{x:guid}", "0f8fad5b-d9cb-469f-a165-70867728950e", "not-a-guid"),
        ("{x:double}", "1.5", "one"),
        ("{x:datetime}", "2026-03-01", "yesterday"),
        ("{x:minlength(3)}", "abc", "ab"),
        ("{x:maxlength(3)}", "abc", "abcd"),
        ("{x:length(2)}", "ab", "abc"),
        ("{x:length(2,3)}", "abc", "a"),
        ("{x:min(10)}", "10", "9"),
        ("{x:max(10)}", "10", "11"),
        ("{x:range(1,3)}", "2", "4"),
        ("{x:int:min(1)}", "1", "0"),
        (r"{x:regex(^\d{{3}}$)}", "123", "1234"),
        ("{x:regex(^a:b$)}", "a:b", "ab"),
    ],
)
def test_constraints(template: str, good: str, bad: str) -> None:
    assert match(template, good) == {"x": good}
    assert match(template, bad) is None


def test_optional_and_default_segments() -> None:
    assert match("items/{id?}", "items") == {}
    assert match("items/{id?}", "items/5") == {"id": "5"}
    assert match("{controller=home}/{action=index}", "") == {"controller": "home", "action": "index"}
    assert match("{controller=home}/{action=index}", "shop") == {"controller": "shop", "action": "index"}


def test_catch_all() -> None:
    assert match("files/{*path}", "files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert match("files/{*path}", "files") == {}
    assert match("{*route}", "anything/at/all") == {"route": "anything/at/all"}
    assert match("/{*route}", "") == {}  # AsgiFunctionApp's route also matches the bare prefix
    assert match("files/{**path}", "files/x%2Fy") == {"path": "x/y"}


def test_complex_segments() -> None:
    assert match("files/{name}.{ext}", "files/report.pdf") == {"name": "report", "ext": "pdf"}
    assert match("v{version:int}/ping", "v2/ping") == {"version": "2"}
    assert match("v{version:int}/ping", "vx/ping") is None


def test_precedence_puts_specific_templates_first() -> None:
    templates = ["{*route}", "items/{id}", "items/{id:int}", "items/new", "items/{name}.{ext}"]
    ordered = sorted(templates, key=lambda t: RouteTemplate.parse(t).precedence)
    assert ordered == ["items/new", "items/{name}.{ext}", "items/{id:int}", "items/{id}", "{*route}"]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("items/{id", "unclosed"),
        ("items/id}", "unmatched"),
        ("items//x", "empty segment"),
        ("items/{id:nope}", "unknown route constraint 'nope'"),
        ("items/{id:min(a)}", "whole-number"),
        ("items/{1id}", "not a valid parameter"),
        ("{*rest}/more", "catch-all parameter must be the whole last segment"),
        ("{a?}/b", "only optional segments may follow"),
        ("x{a?}", "optional parameter must be a whole segment"),
        ("{a}/{A}", "repeats parameter"),
        ("{a?=1}", "cannot be optional and have a default"),
    ],
)
def test_bad_templates_raise_value_error(template: str, message: str) -> None:
    with pytest.raises(ValueError, match="route") as caught:
        RouteTemplate.parse(template)
    assert message in str(caught.value)
