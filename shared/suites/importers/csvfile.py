"""Import cases from CSV: a header row, then one case per record.

Columns: `id` (optional: `case-<line number>` when absent or empty), the template as `prompt` or
`template` (or one given to the importer for every row), `expected`, `tags` (separated by commas
or semicolons), promptfoo's `__expected` (and `__expected1`, `__expected2`, ...: `contains: x`,
`regex: ...`, plain text meaning equals; see `assertions`) and `__description` (ignored). Every
other column is a variable of that name, its cells strings. UTF-8, with or without a byte order
mark; fields quoted the usual way (`"a, b"`, `""` for a quote), and may span lines.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any, Final

from shared.suites import limits
from shared.suites.errors import Problem, SuiteError
from shared.suites.importers.assertions import scorer_from_expected
from shared.suites.importers.source import build_content, read_text, split_tags, suite_fields
from shared.suites.models import SuiteContent
from shared.suites.templates import VAR_NAME_PATTERN

TEMPLATE_COLUMNS: Final = ("prompt", "template")
_EXPECTED_ASSERT = re.compile(r"__expected[0-9]*")
_IGNORED: Final = frozenset({"__description"})
_VAR_NAME = re.compile(VAR_NAME_PATTERN)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SuiteError.at(f"line {reader.line_num}", f"not valid CSV: {exc}") from None
        start, line = line, reader.line_num + 1
        if row:
            yield start, row


def _check_header(header: list[str], template: str | None) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        if not name:
            problems.append(Problem("line 1", f"column {index + 1} has no name"))
        elif name in seen:
            problems.append(Problem("line 1", f"column {name!r} appears twice"))
        elif name.startswith("__") and not _EXPECTED_ASSERT.fullmatch(name) and name not in _IGNORED:
            problems.append(Problem("line 1", f"unsupported column {name!r}"))
        elif (
            not name.startswith("__")
            and name not in {"id", "expected", "tags", *TEMPLATE_COLUMNS}
            and (not _VAR_NAME.fullmatch(name) or len(name) > limits.MAX_VAR_NAME_CHARS)
        ):
            message = f"column {name!r} cannot be a variable name (letters, digits and _, not first a digit)"
            problems.append(Problem("line 1", message))
        seen.add(name)
    templates = [name for name in TEMPLATE_COLUMNS if name in seen]
    if len(templates) > 1 or (templates and template is not None):
        problems.append(Problem("line 1", "give the template once: a prompt or template column, or the importer's"))
    elif not templates and template is None:
        problems.append(Problem("line 1", "the header needs a prompt or template column"))
    return problems


def _add_assertion(case: dict[str, Any], name: str, cell: str, line: int) -> None:
    """Add the scorer of one `__expected` cell; an equals sets the expected output (exact compares with it)."""
    path = f"line {line}: {name}"
    spec, implied = scorer_from_expected(cell, path)
    scorers: list[dict[str, Any]] = case.setdefault("scorers", [])
    if implied is not None:
        if case.setdefault("expected", implied) != implied:
            raise SuiteError.at(path, f"equals {implied!r}, but the expected output is {case['expected']!r}")
        if spec in scorers:
            return  # one exact scorer per expected output is enough
    scorers.append(spec)


def _case(header: list[str], row: list[str], line: int, template: str | None) -> dict[str, Any]:
    case: dict[str, Any] = {"id": f"case-{line}"}
    variables: dict[str, str] = {}
    assertions: list[tuple[str, str]] = []
    if template is not None:
        case["template"] = template
    for name, cell in zip(header, row, strict=True):
        if name == "id":
            if cell.strip():
                case["id"] = cell.strip()
        elif name in TEMPLATE_COLUMNS:
            case["template"] = cell
        elif name == "expected":
            if cell:
                case["expected"] = cell
        elif name == "tags":
            case["tags"] = split_tags(cell)
        elif _EXPECTED_ASSERT.fullmatch(name):
            if cell.strip():
                assertions.append((name, cell))
        elif name not in _IGNORED:
            variables[name] = cell
    # After the row is read, so an expected column anywhere in it is seen first.
    for name, cell in assertions:
        _add_assertion(case, name, cell, line)
    if variables:
        case["vars"] = variables
    return case


def import_csv(
    data: bytes | str,
    *,
    template: str | None = None,
    description: str | None = None,
    system_prompt: str | None = None,
    default_scorers: list[dict[str, Any]] | None = None,
) -> SuiteContent:
    """Suite content from CSV; raise `SuiteError` whose problems name their lines (`line 7: ...`).

    `template` serves files without a prompt column (promptfoo's CSVs hold only vars and asserts).
    """
    text = read_text(data, limit=limits.MAX_IMPORT_BYTES)
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise SuiteError.at("", "the file is empty (a header row is needed)")
    header = [name.strip() for name in first[1]]
    problems = _check_header(header, template)
    if problems:
        raise SuiteError(problems)
    cases: list[dict[str, Any]] = []
    origins: list[str] = []
    for line, row in records:
        if len(row) != len(header):
            problems.append(Problem(f"line {line}", f"{len(row)} fields, but the header has {len(header)}"))
            continue
        try:
            cases.append(_case(header, row, line, template))
        except SuiteError as exc:
            problems.extend(exc.problems)
            continue
        origins.append(f"line {line}")
        if len(cases) > limits.MAX_CASES:
            problems.append(Problem(f"line {line}", f"more than {limits.MAX_CASES:,} cases"))
            break
    if problems:
        raise SuiteError(problems)
    document = {**suite_fields(description, system_prompt, default_scorers), "cases": cases}
    return build_content(document, origins)
