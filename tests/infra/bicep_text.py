"""Just enough of Bicep's syntax to read our templates as text, without the Bicep CLI.

The Bicep CLI cannot be installed on these machines, so the infrastructure tests read the
templates themselves: comments, strings (with `${...}` interpolation and `'''` multi-line
strings), balanced `{}`/`[]`/`()` blocks, `param` and `module` declarations, and the top-level
entries of object and array literals. It is not a parser of the whole language: anything it does
not understand makes a test fail loudly rather than pass quietly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = "{[("
_CLOSE = "}])"
_PARAM = re.compile(r"^param\s+(?P<name>\w+)\s+(?P<type>[^\s=]+)(?:\s*=\s*(?P<default>.*))?$", re.MULTILINE)
_MODULE = re.compile(r"^module\s+(?P<name>\w+)\s+'(?P<source>[^']+)'\s*=\s*", re.MULTILINE)
_KEY = re.compile(r"^(?:(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|'(?P<quoted>(?:[^'\\]|\\.)*)')\s*:(?P<value>.*)$", re.DOTALL)
_PLAIN_STRING = re.compile(r"^'((?:[^'\\$]|\\.|\$(?!\{))*)'$", re.DOTALL)


class BicepTextError(ValueError):
    """The text is not shaped the way these helpers expect (the test should fail, naming why)."""


@dataclass(frozen=True)
class Param:
    """A `param` declaration: its type and, when it has one, the text of its default."""

    name: str
    type: str
    default: str | None

    @property
    def required(self) -> bool:
        """True when a deployment must give a value (no default, not nullable)."""
        return self.default is None and not self.type.endswith("?")


@dataclass(frozen=True)
class Module:
    """A `module` declaration: where it comes from and its body `{...}`."""

    name: str
    source: str
    body: str

    @property
    def params(self) -> dict[str, str]:
        """The module's `params: {...}` entries, key to raw value text."""
        return object_entries(find_block(self.body, r"\bparams\s*:\s*"))


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal that starts at `start` (a `'`)."""
    if text.startswith("'''", start):
        end = text.find("'''", start + 3)
        if end < 0:
            raise BicepTextError(f"unterminated multi-line string at offset {start}")
        return end + 3
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "'":
            return i + 1
        if text.startswith("${", i):
            i = _balanced_end(text, i + 1)
            continue
        i += 1
    raise BicepTextError(f"unterminated string at offset {start}")


def _balanced_end(text: str, start: int) -> int:
    """Index just past the block whose opening bracket is at `start`, skipping strings inside."""
    if text[start] not in _OPEN:
        raise BicepTextError(f"expected an opening bracket at offset {start}, found {text[start]!r}")
    stack = [_CLOSE[_OPEN.index(text[start])]]
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            i = _string_end(text, i)
            continue
        if char in _OPEN:
            stack.append(_CLOSE[_OPEN.index(char)])
        elif char in _CLOSE:
            if char != stack.pop():
                raise BicepTextError(f"mismatched {char!r} at offset {i}")
            if not stack:
                return i + 1
        i += 1
    raise BicepTextError(f"unbalanced block from offset {start}")


def strip_comments(text: str) -> str:
    """The text with `//` and `/* */` comments blanked out (newlines kept, strings untouched)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise BicepTextError(f"unterminated block comment at offset {i}")
            out.append("\n" * text.count("\n", i, end))
            i = end + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def find_block(text: str, header: str) -> str:
    """The balanced `{...}` or `[...]` that follows the first match of the regex `header`."""
    match = re.search(header, text)
    if match is None:
        raise BicepTextError(f"nothing matches {header!r}")
    start = match.end()
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    if start >= len(text) or text[start] not in "{[":
        raise BicepTextError(f"{header!r} is not followed by an object or array")
    return text[start : _balanced_end(text, start)]


def _top_level_items(block: str) -> list[str]:
    """The items of an object or array literal: split at newlines and commas outside nesting."""
    if not block or block[0] not in "{[":
        raise BicepTextError("expected an object or array literal")
    inner = block[1 : _balanced_end(block, 0) - 1]
    items: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(inner):
        char = inner[i]
        if char == "'":
            end = _string_end(inner, i)
            current.append(inner[i:end])
            i = end
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        if depth == 0 and char in "\n,":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    items.append("".join(current).strip())
    return [item for item in items if item]


def object_entries(block: str) -> dict[str, str]:
    """Top-level `key: value` entries of an object literal, key to the value's raw text."""
    entries: dict[str, str] = {}
    for item in _top_level_items(block):
        match = _KEY.match(item)
        if match is None:
            raise BicepTextError(f"not a `key: value` entry: {item[:60]!r}")
        key = match["bare"] or match["quoted"]
        if key in entries:
            raise BicepTextError(f"key {key!r} appears twice")
        entries[key] = match["value"].strip()
    return entries


def array_items(block: str) -> list[str]:
    """Top-level items of an array literal, as raw text."""
    if not block.startswith("["):
        raise BicepTextError("expected an array literal")
    return _top_level_items(block)


def string_value(raw: str) -> str | None:
    """The value of a plain string literal (`'text'`, no interpolation); None for anything else."""
    match = _PLAIN_STRING.match(raw.strip())
    if match is None:
        return None
    return re.sub(r"\\(.)", lambda escaped: {"n": "\n", "t": "\t", "r": "\r"}.get(escaped[1], escaped[1]), match[1])


def string_list(block: str) -> list[str]:
    """The values of an array literal made only of plain strings."""
    values: list[str] = []
    for item in array_items(block):
        value = string_value(item)
        if value is None:
            raise BicepTextError(f"not a plain string: {item!r}")
        values.append(value)
    return values


def params(text: str) -> dict[str, Param]:
    """Every `param` declared in a template (comments stripped first by the caller)."""
    found: dict[str, Param] = {}
    for match in _PARAM.finditer(text):
        default = match["default"]
        found[match["name"]] = Param(match["name"], match["type"], default.strip() if default else None)
    return found


def modules(text: str) -> dict[str, Module]:
    """Every `module` declared in a template, by symbolic name (comments stripped first by the caller)."""
    found: dict[str, Module] = {}
    for match in _MODULE.finditer(text):
        body = find_block(text[match.start() :], re.escape(match[0]))
        found[match["name"]] = Module(match["name"], match["source"], body)
    return found


def variable(text: str, name: str) -> str:
    """The object or array literal a `var` is set to."""
    return find_block(text, rf"(?m)^var\s+{re.escape(name)}\s*=\s*(?=[{{\[])")


def variable_text(text: str, name: str) -> str:
    """The raw one-line value a `var` is set to (for scalars; use `variable` for literals)."""
    match = re.search(rf"(?m)^var\s+{re.escape(name)}\s*=\s*(.+)$", text)
    if match is None:
        raise BicepTextError(f"no `var {name}`")
    return match[1].strip()


def resources(text: str) -> list[tuple[str, str, bool]]:
    """Every `resource` declaration: symbolic name, type (without API version), and whether it is `existing`."""
    pattern = re.compile(r"(?m)^resource\s+(\w+)\s+'([^'@]+)@[^']+'\s+(existing\s*)?=")
    return [(match[1], match[2], match[3] is not None) for match in pattern.finditer(text)]
