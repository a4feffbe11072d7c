"""Prompt templates: `{{ name }}` substitution, promptfoo/nunjucks-compatible for that subset only.

Supported: `{{ name }}` (spaces optional; a name is letters, digits and `_`, not starting with a
digit) and `{% raw %}...{% endraw %}` for literal text that contains `{{`. Anything else inside
`{{ }}` or `{% %}` (filters, dotted names, expressions, loops) is an error rather than text left
half-rendered: the service never evaluates template code. Substitution is one pass, so a value
containing `{{x}}` is inserted as is and never expanded.

Values render like nunjucks prints them: strings as is, booleans as `true`/`false`, numbers in
their JSON form.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.suites.errors import TemplateError

VAR_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_VAR_NAME = re.compile(VAR_NAME_PATTERN)
_OPEN = re.compile(r"\{\{|\{%")
_RAW = re.compile(r"-?\s*raw\s*-?")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
# How much of an offending construct to quote in a message.
_QUOTE_CHARS = 40

VarValue = str | int | float | bool


@dataclass(frozen=True)
class Placeholder:
    """A `{{ name }}` in a template."""

    name: str


Segment = str | Placeholder


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS] + "…"


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> tuple[Segment, ...]:
    """Split a template into literal text and placeholders; raise `TemplateError` on bad syntax.

    Cached: the same system prompt or template is parsed for every case that uses it.
    """
    segments: list[Segment] = []
    position = 0
    while True:
        opening = _OPEN.search(text, position)
        if opening is None:
            segments.append(text[position:])
            break
        segments.append(text[position : opening.start()])
        if opening.group() == "{{":
            end = text.find("}}", opening.end())
            if end < 0:
                raise TemplateError.at("", f"'{{{{' at character {opening.start()} is never closed by '}}}}'")
            inner = text[opening.end() : end].strip()
            if not _VAR_NAME.fullmatch(inner):
                raise TemplateError.at(
                    "",
                    f"only {{{{ name }}}} placeholders are supported, not {{{{{_quote(inner)}}}}} "
                    f"at character {opening.start()} (wrap literal text in {{% raw %}}...{{% endraw %}})",
                )
            segments.append(Placeholder(inner))
            position = end + 2
            continue
        end = text.find("%}", opening.end())
        tag = text[opening.end() : end] if end >= 0 else ""
        if end < 0 or not _RAW.fullmatch(tag):
            raise TemplateError.at(
                "",
                f"template tags are not supported, only {{% raw %}}...{{% endraw %}} (character {opening.start()})",
            )
        closing = _END_RAW.search(text, end + 2)
        if closing is None:
            raise TemplateError.at("", f"{{% raw %}} at character {opening.start()} has no {{% endraw %}}")
        segments.append(text[end + 2 : closing.start()])
        position = closing.end()
    return tuple(segment for segment in segments if segment != "")


def variables(text: str) -> list[str]:
    """The variable names a template uses, in first-use order."""
    names: dict[str, None] = {}
    for segment in parse(text):
        if isinstance(segment, Placeholder):
            names.setdefault(segment.name, None)
    return list(names)


def format_value(value: VarValue) -> str:
    """How a variable value is written into text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def rendered_length(text: str, values: Mapping[str, VarValue]) -> int:
    """The length `render(text, values)` would have, without building it (unknown names count 0)."""
    total = 0
    for segment in parse(text):
        if isinstance(segment, Placeholder):
            value = values.get(segment.name)
            total += 0 if value is None else len(format_value(value))
        else:
            total += len(segment)
    return total


def render(text: str, values: Mapping[str, VarValue]) -> str:
    """The template with each placeholder replaced; raise `TemplateError` for an unknown name."""
    parts: list[str] = []
    for segment in parse(text):
        if isinstance(segment, Placeholder):
            if segment.name not in values:
                raise TemplateError.at("", f"unknown variable {segment.name!r}")
            parts.append(format_value(values[segment.name]))
        else:
            parts.append(segment)
    return "".join(parts)
