"""Tenant JSON schemas: checked once when a suite is created, then used to validate outputs safely.

Safety rules, because the schema is tenant input and validation runs in a shared worker:
- no network: a `$ref` must point inside the schema (`#...`), and the validator's registry refuses to
  retrieve anything (jsonschema's default registry would fetch remote references over HTTP);
- no ReDoS: `pattern`, `patternProperties` and `additionalProperties` are re-implemented over
  `patterns.search` (time-limited) instead of jsonschema's stdlib `re`. `unevaluatedProperties`
  together with `patternProperties` is refused, since jsonschema evaluates that pair with `re`
  internally;
- bounded size and depth;
- format checking is off unless the spec asks for it (formats are annotations by default in 2020-12).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import referencing
from jsonschema import Draft4Validator, Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator

from shared.scoring import patterns

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 64

_DRAFTS: dict[str, type[Validator]] = {}
for _cls in (Draft4Validator, Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator):
    _uri = str(_cls.META_SCHEMA["$schema"])
    _DRAFTS[_uri] = _cls
    # Both spellings are common: with and without the empty fragment.
    _DRAFTS[_uri.rstrip("#")] = _cls
    _DRAFTS[_uri.rstrip("#") + "#"] = _cls


class SchemaProblem(ValueError):
    """A tenant schema that cannot be used; `path` is a JSON pointer into the schema."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"invalid JSON schema at {path or '/'}: {message}")
        self.path = path or "/"


def _pointer(parts: tuple[str | int, ...] | list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(schema: Any) -> Iterator[tuple[tuple[str | int, ...], str, Any]]:
    """Every (path, key, value) of the schema's objects, iteratively (no recursion limit to hit)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_SCHEMA_DEPTH:
            raise SchemaProblem(f"nested deeper than {MAX_SCHEMA_DEPTH} levels", _pointer(path))
        if isinstance(node, Mapping):
            for key, value in node.items():
                yield path, str(key), value
                stack.append(((*path, str(key)), value))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                stack.append(((*path, index), value))


def validator_class(schema: Mapping[str, Any]) -> type[Validator]:
    """The draft named by `$schema` (2020-12 when absent); SchemaProblem for drafts we do not run."""
    uri = schema.get("$schema")
    if uri is None:
        return Draft202012Validator
    if not isinstance(uri, str) or uri not in _DRAFTS:
        raise SchemaProblem(f"unsupported $schema {uri!r} (drafts 4, 6, 7, 2019-09 and 2020-12 are)", "/$schema")
    return _DRAFTS[uri]


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse a schema that is too large, malformed, refers outside itself, or has a broken pattern."""
    size = len(json.dumps(schema, ensure_ascii=False, default=str).encode())
    if size > MAX_SCHEMA_BYTES:
        raise SchemaProblem(f"{size} bytes; at most {MAX_SCHEMA_BYTES} are allowed")
    has_unevaluated = has_pattern_properties = False
    for path, key, value in _walk(schema):
        where = _pointer((*path, key))
        if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str) and not value.startswith("#"):
            raise SchemaProblem(
                f"{key} {value!r} points outside the schema; only local references (#...) are allowed", where
            )
        if key == "pattern" and isinstance(value, str):
            _check_pattern(value, where)
        if key == "patternProperties" and isinstance(value, Mapping):
            has_pattern_properties = True
            for pattern in value:
                _check_pattern(str(pattern), _pointer((*path, key, str(pattern))))
        if key == "unevaluatedProperties":
            has_unevaluated = True
    if has_unevaluated and has_pattern_properties:
        raise SchemaProblem("unevaluatedProperties together with patternProperties is not supported")
    cls = validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(exc.message, _pointer(list(exc.absolute_path))) from exc


def _check_pattern(pattern: str, where: str) -> None:
    try:
        patterns.compile_pattern(pattern)
    except patterns.PatternError as exc:
        raise SchemaProblem(str(exc), where) from exc


class RemoteReferenceRefused(LookupError):
    """A reference outside the schema was followed at validation time."""


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    # No network, ever: the registry turns this into `referencing.exceptions.Unretrievable`.
    raise RemoteReferenceRefused(f"remote reference {uri!r} refused")


# attrs-generated __init__ that mypy cannot see through `referencing._attrs.frozen`.
_NO_NETWORK: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _safe_search(pattern: str, text: str) -> bool:
    return patterns.search(patterns.compile_pattern(pattern), text)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _safe_search(pattern, instance):
        yield ValidationError(f"{instance[:40]!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, pattern_properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _safe_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    pattern_list = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(_safe_search(pattern, key) for pattern in pattern_list)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        names = ", ".join(repr(extra) for extra in sorted(extras, key=str)[:5])
        yield ValidationError(f"additional properties are not allowed ({names} unexpected)")


_SAFE_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


def _extend(cls: type[Validator]) -> type[Validator]:
    # jsonschema's `extend` is untyped in its stubs; it returns a validator class.
    extended: type[Validator] = jsonschema.validators.extend(cls, _SAFE_KEYWORDS)  # type: ignore[no-untyped-call]
    return extended


_SAFE_CLASSES: dict[type[Validator], type[Validator]] = {cls: _extend(cls) for cls in set(_DRAFTS.values())}


def make_validator(schema: dict[str, Any], *, check_formats: bool) -> Validator:
    """A validator for an already checked schema: local references only, time-limited patterns."""
    cls = _SAFE_CLASSES[validator_class(schema)]
    format_checker = cls.FORMAT_CHECKER if check_formats else None
    return cls(schema, registry=_NO_NETWORK, format_checker=format_checker)
