"""CSV import: header columns, variables, promptfoo's __expected, BOM, unicode and quoting."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.suites.errors import SuiteError
from shared.suites.importers import import_csv
from shared.suites.models import Message


def problems(data: bytes | str, template: str | None = None) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        import_csv(data, template=template)
    return [str(problem) for problem in caught.value.problems]


def test_imports_a_spreadsheet_export_with_bom_unicode_and_quoted_fields(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    rows = [
        "id,prompt,expected,tags,country,__expected",
        ',"Capital of {{country}}, please?",Paris,"geo, easy",France,contains: Paris',
        'tokyo,"Line one\r\nline two: {{country}}","東京","geo;hard","日本 ""Nippon""","icontains-any: tokyo, 東京"',
        ",Say {{country}},,,Ελλάδα,",
    ]
    # Excel writes UTF-8 with a byte order mark and CRLF line ends.
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8") + b"\r\n")
    content = import_csv(path.read_bytes())
    assert [case.id for case in content.cases] == ["case-2", "tokyo", "case-5"]
    paris, tokyo, greece = content.cases
    assert paris.vars == {"country": "France"}
    assert paris.tags == ["geo", "easy"]
    assert paris.expected == "Paris"
    assert paris.scorers == [{"type": "contains", "values": ["Paris"], "mode": "all", "case_sensitive": True}]
    assert content.render_case(paris) == [Message(role="user", content="Capital of France, please?")]
    assert content.render_case(tokyo)[0].content == 'Line one\r\nline two: 日本 "Nippon"'
    assert tokyo.tags == ["geo", "hard"]
    assert tokyo.scorers == [{"type": "contains", "values": ["tokyo", "東京"], "mode": "any", "case_sensitive": False}]
    assert (greece.expected, greece.tags, greece.scorers) == (None, [], [])


def test_a_template_for_files_with_only_vars_and_plain_expected_means_equals() -> None:
    content = import_csv(
        "question,__expected,__expected2,__description\n2+2,4,4,sums\n3+3,6,is-json,\n", template="Q: {{question}}"
    )
    first, second = content.cases
    assert first.template == "Q: {{question}}"
    assert (first.expected, first.scorers) == ("4", [{"type": "exact"}])
    assert (second.expected, second.scorers) == ("6", [{"type": "exact"}, {"type": "json_valid"}])
    assert problems("expected,__expected\n4,5\n", template="x") == [
        "line 2: __expected: equals '5', but the expected output is '4'"
    ]


def test_header_problems() -> None:
    assert problems("question\nx\n") == ["line 1: the header needs a prompt or template column"]
    assert problems("prompt,template\nx,y\n") == [
        "line 1: give the template once: a prompt or template column, or the importer's"
    ]
    assert problems("prompt,q\nx,y\n", template="t") == [
        "line 1: give the template once: a prompt or template column, or the importer's"
    ]
    assert problems("prompt,my var,,q,q,__metric\nx,1,2,3,4,5\n") == [
        "line 1: column 'my var' cannot be a variable name (letters, digits and _, not first a digit)",
        "line 1: column 3 has no name",
        "line 1: column 'q' appears twice",
        "line 1: unsupported column '__metric'",
    ]
    assert problems("") == ["the file is empty (a header row is needed)"]


def test_row_problems_name_the_line_where_the_record_starts() -> None:
    data = 'prompt,q\n"multi\nline {{q}}",1\n{{q}},2,extra\n\n{{missing}},3\n'
    assert problems(data) == ["line 4: 3 fields, but the header has 2"]
    assert problems('prompt,q\n"multi\nline {{q}}",1\n\n{{missing}},3\n') == [
        "line 5: template: unknown variable 'missing' (this case's vars: q)"
    ]
    assert problems('prompt\n"never closed\n') == ["line 2: not valid CSV: unexpected end of data"]


def test_code_assertions_are_refused() -> None:
    for cell in ("javascript: output.length > 3", "python: len(output) > 3", "fn: true"):
        assert problems(f"q,__expected\nhi,{cell}\n", template="{{q}}") == [
            f"line 2: __expected: assertion type '{cell.split(':')[0]}' is refused: no tenant code runs in the service"
        ]
