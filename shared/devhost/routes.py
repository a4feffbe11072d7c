"""HTTP route templates as the Functions host (ASP.NET Core routing) understands them.

Supported: literal segments (case-insensitive), `{x}`, constraints `{x:int}` (also long, bool, alpha,
guid, double, float, decimal, datetime, minlength(n), maxlength(n), length(n) / length(a,b), min(n),
max(n), range(a,b), regex(...)), optional `{x?}`, defaults `{x=value}`, catch-all `{*x}` / `{**x}`,
and segments mixing literals and parameters such as `{name}.{ext}`. Templates are ordered the way
ASP.NET orders them: literals before constrained parameters, before plain ones, before catch-alls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

Check = Callable[[str], bool]


def _integer(bounds: tuple[int, int]) -> Check:
    def check(value: str) -> bool:
        text = value.strip()
        return bool(re.fullmatch(r"[+-]?\d+", text)) and bounds[0] <= int(text) <= bounds[1]

    return check


def _number(value: str) -> bool:
    try:
        Decimal(value.strip())
    except InvalidOperation:
        return False
    return True


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _arguments(name: str, text: str | None, count: tuple[int, ...]) -> list[int]:
    parts = [] if text is None else [part.strip() for part in text.split(",")]
    if len(parts) not in count or not all(re.fullmatch(r"-?\d+", part) for part in parts):
        raise ValueError(f"route constraint {name} needs {' or '.join(map(str, count))} whole-number argument(s)")
    return [int(part) for part in parts]


def _constraint(name: str, argument: str | None) -> Check:
    """Build the check for one constraint; unknown constraints are an error, as in the host."""
    simple: dict[str, Check] = {
        "int": _integer(_INT32),
        "long": _integer(_INT64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "guid": _guid,
        "double": _number,
        "float": _number,
        "decimal": _number,
        "datetime": _datetime,
    }
    if name in simple:
        if argument is not None:
            raise ValueError(f"route constraint {name} takes no argument")
        return simple[name]
    if name == "regex":
        if not argument:
            raise ValueError("route constraint regex needs a pattern")
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    if name in ("minlength", "maxlength"):
        (limit,) = _arguments(name, argument, (1,))
        return (lambda v: len(v) >= limit) if name == "minlength" else (lambda v: len(v) <= limit)
    if name == "length":
        bounds = _arguments(name, argument, (1, 2))
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        return lambda v: low <= len(v) <= high
    if name in ("min", "max", "range"):
        bounds = _arguments(name, argument, (2,) if name == "range" else (1,))
        low = bounds[0] if name != "max" else _INT64[0]
        high = bounds[-1] if name != "min" else _INT64[1]
        is_long = _integer(_INT64)
        return lambda v: is_long(v) and low <= int(v) <= high
    raise ValueError(f"unknown route constraint {name!r}")


@dataclass(frozen=True)
class Parameter:
    """One `{...}` of a template."""

    name: str
    checks: tuple[Check, ...] = ()
    optional: bool = False
    catch_all: bool = False
    default: str | None = None


def _split_constraints(text: str) -> list[str]:
    """Split `name:int:regex(a:b)` at colons outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_parameter(text: str, template: str) -> Parameter:
    head, *constraint_texts = _split_constraints(text)
    default = None
    if "=" in head:
        head, default = head.split("=", 1)
    catch_all = head.startswith("*")
    name = head.lstrip("*")
    optional = name.endswith("?")
    name = name.rstrip("?")
    if not _NAME.match(name):
        raise ValueError(f"route {template!r}: {text!r} is not a valid parameter")
    if optional and default is not None:
        raise ValueError(f"route {template!r}: parameter {name!r} cannot be optional and have a default")
    checks = []
    for constraint in constraint_texts:
        match = re.fullmatch(r"(?P<name>[A-Za-z]+)(?:\((?P<arg>.*)\))?", constraint, re.DOTALL)
        if match is None:
            raise ValueError(f"route {template!r}: {constraint!r} is not a valid constraint")
        try:
            checks.append(_constraint(match.group("name").lower(), match.group("arg")))
        except (ValueError, re.error) as error:
            raise ValueError(f"route {template!r}: {error}") from error
    return Parameter(name, tuple(checks), optional, catch_all, default)


def _parse_segment(segment: str, template: str) -> list[str | Parameter]:
    """Split a segment into literal text and parameters; `{{` and `}}` are literal braces."""
    parts: list[str | Parameter] = []
    literal: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if segment.startswith("{{", index) or segment.startswith("}}", index):
            literal.append(char)
            index += 2
        elif char == "{":
            end, inner = index + 1, []
            while end < len(segment):
                if segment.startswith("}}", end) or segment.startswith("{{", end):
                    inner.append(segment[end])
                    end += 2
                elif segment[end] == "}":
                    break
                else:
                    inner.append(segment[end])
                    end += 1
            else:
                raise ValueError(f"route {template!r}: unclosed '{{' in segment {segment!r}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_parameter("".join(inner), template))
            index = end + 1
        elif char == "}":
            raise ValueError(f"route {template!r}: unmatched '}}' in segment {segment!r}")
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _precedence(parts: list[str | Parameter]) -> int:
    # ASP.NET's inbound precedence digit: lower sorts first.
    if len(parts) > 1:
        return 2
    part = parts[0]
    if isinstance(part, str):
        return 1
    if part.catch_all:
        return 5
    return 3 if part.checks else 4


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; `match` gives the route parameters or None."""

    template: str
    pattern: re.Pattern[str]
    parameters: tuple[Parameter, ...]
    precedence: tuple[int, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Compile a template such as `items/{id:int}/{*rest}`; ValueError explains a bad one."""
        text = template.strip().strip("/")
        segments = [_parse_segment(segment, template) for segment in text.split("/")] if text else []
        regex: list[str] = []
        parameters: list[Parameter] = []
        precedence: list[int] = []
        seen_optional = False
        for index, parts in enumerate(segments):
            if not parts:
                raise ValueError(f"route {template!r} has an empty segment")
            params = [part for part in parts if isinstance(part, Parameter)]
            for param in params:
                if param.name.lower() in (p.name.lower() for p in parameters):
                    raise ValueError(f"route {template!r} repeats parameter {param.name!r}")
                parameters.append(param)
            whole = len(parts) == 1 and isinstance(parts[0], Parameter)
            first = parts[0]
            if any(p.catch_all for p in params) and (index != len(segments) - 1 or not whole):
                raise ValueError(f"route {template!r}: a catch-all parameter must be the whole last segment")
            skippable = whole and isinstance(first, Parameter) and (first.optional or first.default is not None)
            if any(p.optional or p.default is not None for p in params) and not whole:
                raise ValueError(f"route {template!r}: an optional parameter must be a whole segment")
            if seen_optional and not skippable and not (isinstance(first, Parameter) and first.catch_all):
                raise ValueError(f"route {template!r}: only optional segments may follow an optional one")
            seen_optional = seen_optional or skippable
            separator = "/" if index else ""
            if isinstance(first, Parameter) and first.catch_all:
                regex.append(f"(?:{separator}(?P<p{len(parameters) - 1}>.*))?")
            elif skippable:
                regex.append(f"(?:{separator}(?P<p{len(parameters) - 1}>[^/]+))?")
            else:
                piece = [separator]
                for part in parts:
                    if isinstance(part, str):
                        piece.append(re.escape(part))
                    else:
                        group = f"p{parameters.index(part)}"
                        piece.append(f"(?P<{group}>[^/]+)" if whole else f"(?P<{group}>[^/]+?)")
                regex.append("".join(piece))
            precedence.append(_precedence(parts))
        pattern = re.compile("".join(regex), re.IGNORECASE)
        return cls(template, pattern, tuple(parameters), tuple(precedence))

    def match(self, path: str) -> dict[str, str] | None:
        """Match a path relative to the route prefix (no leading slash, still percent-encoded)."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, param in enumerate(self.parameters):
            raw = found.group(f"p{index}")
            if raw is None or (param.catch_all and raw == ""):
                if param.default is not None:
                    values[param.name] = param.default
                elif not (param.optional or param.catch_all):
                    return None
                continue
            value = unquote(raw)
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values
