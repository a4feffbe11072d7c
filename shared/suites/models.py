"""Suite content: messages, cases and the suite document, validated with a path for every problem.

A case is either chat `messages` or a `template` (rendered into one user message); both may use
`{{ name }}` placeholders filled from the case's `vars` (see `shared.suites.templates`), as may
the suite's `system_prompt`, which is prepended to every case that has no system message of its
own. A case is scored by the suite's `default_scorers` followed by its own `scorers`
(`SuiteContent.scorers_for`); that list is what the scorer hook validates.

Every check happens on construction, so a `SuiteContent` that exists is valid: unknown
variables, duplicate case ids and limits (`shared.suites.limits`) fail with paths such as
`cases[12].messages[0].content`. Use `parse_content` to get those as a `SuiteError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.suites import limits
from shared.suites import scorers as scorer_hook
from shared.suites.errors import Problem, SuiteError, TemplateError, join_path
from shared.suites.templates import VAR_NAME_PATTERN, VarValue, rendered_length, variables
from shared.suites.templates import render as render_text

_CASE_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{limits.MAX_CASE_ID_CHARS}}}")
_VAR_NAME = re.compile(VAR_NAME_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# JSON numbers are doubles in most readers (the web frontend among them): keep integers exact.
MAX_SAFE_INTEGER = 2**53 - 1

Role = Literal["system", "user", "assistant"]


# -- field types --------------------------------------------------------------------------------


def _unicode(value: str) -> str:
    # Lone surrogates (legal in a Python str, e.g. from JSON "\ud800") cannot be written as UTF-8;
    # pydantic refuses them in str fields, this covers variable values and scorer specs.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (it contains a lone surrogate)") from None
    return value


def _case_id(value: str) -> str:
    if not _CASE_ID.fullmatch(value):
        raise ValueError(f"a case id is 1-{limits.MAX_CASE_ID_CHARS} of A-Z a-z 0-9 . _ : - (got {value[:40]!r})")
    return value


def _var_name(value: str) -> str:
    if not _VAR_NAME.fullmatch(value) or len(value) > limits.MAX_VAR_NAME_CHARS:
        raise ValueError(
            f"{value[:40]!r} is not a variable name: 1-{limits.MAX_VAR_NAME_CHARS} letters, digits and _, "
            "not starting with a digit"
        )
    return value


def _kind(value: object) -> str:
    names = {type(None): "null", dict: "an object", list: "a list"}
    return names.get(type(value), type(value).__name__)


def _var_value(value: object) -> VarValue:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError("integers must be within ±(2^53 - 1); write larger ones as strings")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > limits.MAX_TEXT_CHARS:
            raise ValueError(f"String should have at most {limits.MAX_TEXT_CHARS} characters")
        return _unicode(value)
    raise ValueError(f"a variable is a string, number or boolean, not {_kind(value)}")


def _tag(value: str) -> str:
    if not value or len(value) > limits.MAX_TAG_CHARS or value != value.strip() or _CONTROL.search(value):
        raise ValueError(
            f"a tag is 1-{limits.MAX_TAG_CHARS} characters without control characters or surrounding spaces"
        )
    return value


def _check_json(value: object, path: str, depth: int) -> None:
    """Raise `SuiteError` unless `value` is plain JSON (so it has one canonical form)."""
    if depth > limits.MAX_SCORER_DEPTH:
        raise SuiteError.at(path, f"nested deeper than {limits.MAX_SCORER_DEPTH} levels")
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            try:
                _unicode(value)
            except ValueError as exc:
                raise SuiteError.at(path, str(exc)) from None
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise SuiteError.at(path, "integers must be within ±(2^53 - 1)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SuiteError.at(path, "numbers must be finite")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SuiteError.at(path, f"object keys must be strings, not {_kind(key)}")
            _check_json(item, join_path(path, _loc_part(key)), depth + 1)
        return
    raise SuiteError.at(path, f"not a JSON value: {_kind(value)}")


def _scorer_spec(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value, "", 0)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > limits.MAX_SCORER_BYTES:
        raise ValueError(f"a scorer spec is at most {limits.MAX_SCORER_BYTES} bytes as JSON (this one is {size})")
    return value


# pydantic's own str validation refuses lone surrogates; `_unicode` guards the values it does not type.
TemplateText = Annotated[str, StringConstraints(max_length=limits.MAX_TEXT_CHARS)]
ExpectedText = Annotated[str, StringConstraints(max_length=limits.MAX_EXPECTED_CHARS)]
DescriptionText = Annotated[str, StringConstraints(max_length=limits.MAX_DESCRIPTION_CHARS)]
CaseId = Annotated[str, AfterValidator(_case_id)]
VarName = Annotated[str, AfterValidator(_var_name)]
VarField = Annotated[VarValue, PlainValidator(_var_value, json_schema_input_type=VarValue)]
Tag = Annotated[str, AfterValidator(_tag)]
ScorerSpec = Annotated[dict[str, Any], AfterValidator(_scorer_spec)]
"""One scorer as JSON; its schema is checked by `shared.suites.scorers.validate_scorers`."""


# -- models -------------------------------------------------------------------------------------


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: TemplateText


def _template_problems(path: str, text: str, values: Mapping[str, VarValue]) -> list[Problem]:
    """What is wrong with `text` as a template rendered with `values` (syntax, names, size)."""
    try:
        names = variables(text)
    except TemplateError as exc:
        return list(exc.under(path).problems)
    problems: list[Problem] = []
    for name in names:
        if name not in values:
            known = ", ".join(sorted(values)) if values else "none"
            problems.append(Problem(path, f"unknown variable {name!r} (this case's vars: {known})"))
    if not problems and rendered_length(text, values) > limits.MAX_RENDERED_CHARS:
        problems.append(Problem(path, f"renders to more than {limits.MAX_RENDERED_CHARS} characters"))
    return problems


class Case(BaseModel):
    """One benchmark case: the prompt (messages or a template with vars), the expected output, tags, scorers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CaseId
    messages: Annotated[list[Message], Field(min_length=1, max_length=limits.MAX_MESSAGES_PER_CASE)] | None = None
    template: TemplateText | None = None
    vars: Annotated[dict[VarName, VarField], Field(max_length=limits.MAX_VARS_PER_CASE)] | None = None
    expected: ExpectedText | None = None
    tags: Annotated[list[Tag], Field(max_length=limits.MAX_TAGS)] = Field(default_factory=list)
    scorers: Annotated[list[ScorerSpec], Field(max_length=limits.MAX_SCORERS)] = Field(default_factory=list)

    @field_validator("vars")
    @classmethod
    def _no_empty_vars(cls, value: dict[str, VarValue] | None) -> dict[str, VarValue] | None:
        # `{}` and no vars mean the same; one spelling keeps the canonical form (and the id) unique.
        return value or None

    @model_validator(mode="after")
    def _check(self) -> Case:
        problems: list[Problem] = []
        if (self.messages is None) == (self.template is None):
            problems.append(Problem("", "give exactly one of messages or template"))
        for path, text in self.texts():
            problems.extend(_template_problems(path, text, self.vars or {}))
        seen: set[str] = set()
        for index, tag in enumerate(self.tags):
            if tag in seen:
                problems.append(Problem(f"tags[{index}]", f"duplicate tag {tag!r}"))
            seen.add(tag)
        if problems:
            raise SuiteError(problems)
        return self

    def texts(self) -> Iterator[tuple[str, str]]:
        """Each template text of the case with its path: `template` or `messages[i].content`."""
        if self.template is not None:
            yield "template", self.template
        for index, message in enumerate(self.messages or []):
            yield f"messages[{index}].content", message.content

    @property
    def has_system_message(self) -> bool:
        """True when the case brings its own system message (the suite's system prompt is then not added)."""
        return any(message.role == "system" for message in self.messages or [])


class SuiteContent(BaseModel):
    """The content of one suite version: what is hashed, stored and run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: DescriptionText | None = None
    system_prompt: TemplateText | None = None
    default_scorers: Annotated[list[ScorerSpec], Field(max_length=limits.MAX_SCORERS)] = Field(default_factory=list)
    cases: Annotated[list[Case], Field(min_length=1, max_length=limits.MAX_CASES)]

    @model_validator(mode="after")
    def _check(self) -> SuiteContent:
        problems: list[Problem] = []
        first_index: dict[str, int] = {}
        for index, case in enumerate(self.cases):
            earlier = first_index.setdefault(case.id, index)
            if earlier != index:
                problems.append(
                    Problem(f"cases[{index}].id", f"duplicate case id {case.id!r} (first at cases[{earlier}])")
                )
        problems.extend(self._system_prompt_problems())
        problems.extend(self._scorer_problems())
        if problems:
            raise SuiteError(problems)
        return self

    def _system_prompt_problems(self) -> list[Problem]:
        if self.system_prompt is None:
            return []
        try:
            variables(self.system_prompt)
        except TemplateError as exc:
            return list(exc.under("system_prompt").problems)
        problems: list[Problem] = []
        for index, case in enumerate(self.cases):
            if case.has_system_message:
                continue
            for problem in _template_problems("", self.system_prompt, case.vars or {}):
                problems.append(Problem(f"cases[{index}]", f"system_prompt: {problem.message}"))
        return problems

    def _scorer_problems(self) -> list[Problem]:
        if self.default_scorers:
            on_their_own = scorer_hook.validate_scorers(list(self.default_scorers), True)
            if on_their_own:
                # Broken defaults would otherwise be reported again for every case.
                return [Problem("default_scorers", message) for message in on_their_own]
        return [
            Problem(f"cases[{index}].scorers", message)
            for index, case in enumerate(self.cases)
            for message in scorer_hook.validate_scorers(self.scorers_for(case), case.expected is not None)
        ]

    def scorers_for(self, case: Case) -> list[dict[str, Any]]:
        """The scorers `case` runs: the suite's defaults, then its own (as promptfoo's defaultTest asserts)."""
        return [*self.default_scorers, *case.scorers]

    def render_case(self, case: Case) -> list[Message]:
        """The messages to send for `case`, with this suite's system prompt where it applies."""
        return render(case, self.system_prompt)


# -- rendering ----------------------------------------------------------------------------------


def render(case: Case, system_prompt: str | None = None) -> list[Message]:
    """The messages to send for `case`: placeholders filled from its vars, `template` as one user message.

    `system_prompt` (the suite's) is rendered with the same vars and put first when the case has no
    system message. Raises `TemplateError` with the path of the text at fault; a validated case
    never does.
    """
    values = case.vars or {}

    def fill(path: str, text: str) -> str:
        try:
            return render_text(text, values)
        except TemplateError as exc:
            raise exc.under(path) from None

    # model_construct: a rendered text may be longer than an input text may be, by design.
    if case.template is not None:
        messages = [Message.model_construct(role="user", content=fill("template", case.template))]
    else:
        messages = [
            Message.model_construct(role=message.role, content=fill(f"messages[{index}].content", message.content))
            for index, message in enumerate(case.messages or [])
        ]
    if system_prompt is not None and not case.has_system_message:
        messages.insert(0, Message.model_construct(role="system", content=fill("system_prompt", system_prompt)))
    return messages


# -- validation with paths ----------------------------------------------------------------------


def _loc_part(item: str | int) -> str:
    if isinstance(item, int):
        return f"[{item}]"
    return item if _IDENTIFIER.fullmatch(item) else f"[{json.dumps(item, ensure_ascii=False)}]"


def format_loc(loc: tuple[str | int, ...]) -> str:
    """A pydantic error location as a path: `("cases", 12, "content")` → `cases[12].content`."""
    path = ""
    for item in loc:
        if item == "[key]":  # pydantic's marker for "the key of the dict entry before"
            continue
        path = join_path(path, _loc_part(item))
    return path


def suite_error(exc: ValidationError) -> SuiteError:
    """A pydantic `ValidationError` as a `SuiteError`: each problem with its path (our own checks' paths kept)."""
    problems: list[Problem] = []
    omitted = 0
    for error in exc.errors(include_url=False):
        base = format_loc(tuple(error["loc"]))
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, SuiteError):
            problems.extend(Problem(join_path(base, problem.path), problem.message) for problem in cause.problems)
            omitted += cause.omitted
        elif error["type"] == "value_error" and isinstance(cause, Exception):
            problems.append(Problem(base, str(cause)))
        else:
            problems.append(Problem(base, error["msg"]))
    return SuiteError(problems, omitted=omitted)


def parse_content(data: Any) -> SuiteContent:
    """Validate JSON-like data (a dict) as `SuiteContent`; raise `SuiteError` listing each problem with its path."""
    try:
        return SuiteContent.model_validate(data)
    except ValidationError as exc:
        raise suite_error(exc) from None
