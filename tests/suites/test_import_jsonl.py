"""JSON Lines import: field aliases, generated ids, and errors that name their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.suites import limits
from shared.suites.errors import SuiteError
from shared.suites.importers import import_jsonl
from shared.suites.models import Message


def write_lines(path: Path, *lines: str) -> bytes:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.read_bytes()


def problems(data: bytes | str) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        import_jsonl(data)
    return [str(problem) for problem in caught.value.problems]


def test_imports_each_prompt_and_answer_form(tmp_path: Path) -> None:
    data = write_lines(
        tmp_path / "cases.jsonl",
        json.dumps({"prompt": "2+2={{x}}", "vars": {"x": "?"}, "ideal": 4}),
        "",
        json.dumps(
            {"id": "chat", "messages": [{"role": "user", "content": "Hi"}], "expected": "Hello", "tags": "a; b, a"}
        ),
        json.dumps({"input": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}], "answer": "A"}),
        json.dumps(
            {
                "id": 7,
                "template": "Résumé ✓ \u2028 {{n}}",
                "vars": {"n": 1.5},
                "tags": ["x"],
                "scorers": [{"type": "exact"}],
            }
        ),
    )
    content = import_jsonl(data, description="demo", system_prompt="Be brief.")
    assert [case.id for case in content.cases] == ["case-1", "chat", "case-4", "7"]
    first, chat, evals, unicode = content.cases
    assert (first.template, first.expected) == ("2+2={{x}}", "4")
    assert (chat.tags, chat.expected) == (["a", "b"], "Hello")
    assert evals.messages is not None
    assert [m.role for m in evals.messages] == ["system", "user"]
    # U+2028 inside a JSON string is text, not a line break.
    assert content.render_case(unicode)[-1] == Message(role="user", content="Résumé ✓ \u2028 1.5")
    assert unicode.scorers == [{"type": "exact"}]
    assert content.description == "demo"
    assert content.render_case(first)[0] == Message(role="system", content="Be brief.")


def test_generated_ids_follow_line_numbers_so_appending_keeps_them() -> None:
    before = import_jsonl('{"prompt":"a"}\n{"prompt":"b"}\n')
    after = import_jsonl('{"prompt":"a"}\n{"prompt":"b"}\n{"prompt":"c"}\n')
    assert [c.id for c in after.cases][:2] == [c.id for c in before.cases] == ["case-1", "case-2"]


def test_crlf_and_a_byte_order_mark_are_accepted() -> None:
    content = import_jsonl(b'\xef\xbb\xbf{"prompt":"a"}\r\n{"prompt":"b"}\r\n')
    assert [case.template for case in content.cases] == ["a", "b"]


def test_malformed_lines_are_reported_with_their_numbers() -> None:
    data = "\n".join(
        [
            '{"prompt": "ok"}',
            "{not json",
            "[1, 2]",
            '{"prompt": "x", "bogus": 1}',
            '{"prompt": "x", "prompt": "y"}',
            '{"prompt": "x", "expected": NaN}',
            '{"vars": {}}',
            '{"prompt": "x", "ideal": ["a", "b"]}',
            '{"prompt": 3}',
            '{"prompt": "x", "expected": "a", "answer": "b"}',
        ]
    )
    assert problems(data) == [
        "line 2: not valid JSON: Expecting property name enclosed in double quotes at column 2",
        "line 3: each line must be a JSON object",
        "line 4: unknown field 'bogus' (fields: answer, expected, id, ideal, input, messages, prompt, scorers, tags, "
        "template, vars)",
        "line 5: the key 'prompt' appears twice",
        "line 6: NaN is not a JSON number",
        "line 7: give exactly one of messages, template, prompt, input",
        "line 8: ideal must be a string (one expected output)",
        "line 9: prompt must be a string or a list of messages",
        "line 10: give at most one of expected, ideal, answer",
    ]


def test_content_problems_are_placed_on_their_line() -> None:
    data = (
        '{"prompt": "fine"}\n\n{"prompt": "{{q}}"}\n{"id": "case-1", "messages": [{"role": "bot", "content": "x"}]}\n'
    )
    assert problems(data) == [
        "line 3: template: unknown variable 'q' (this case's vars: none)",
        "line 4: messages[0].role: Input should be 'system', 'user' or 'assistant'",
    ]
    assert problems('{"prompt": "a"}\n{"id": "case-1", "prompt": "b"}\n') == [
        "line 2: id: duplicate case id 'case-1' (first at line 1)"
    ]


def test_input_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_IMPORT_BYTES", 10)
    assert problems('{"prompt": "long enough"}') == ["the input is 25 bytes; the limit is 10"]


def test_bad_utf8_and_empty_input() -> None:
    assert problems(b'{"prompt": "a"}\n{"prompt": "\xff"}\n') == ["line 2: not valid UTF-8"]
    assert problems("\n\n") == ["the input holds no cases"]
