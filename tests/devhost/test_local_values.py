"""local.settings.json Values fill the environment without overriding what is already set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.devhost.local_values import load_local_values


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_values_fill_missing_variables_only(tmp_path: Path) -> None:
    path = write(tmp_path, {"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file", "C": ""}})
    environ = {"A": "from-env"}
    applied = load_local_values(path, environ)
    assert environ == {"A": "from-env", "B": "from-file", "C": ""}
    assert applied == {"B": "from-file", "C": ""}


def test_missing_file_sets_nothing(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert load_local_values(tmp_path / "absent.json", environ) == {}
    assert environ == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"Values": {"PORT": 7071}}, "Values.PORT must be a string"),
        ({"Values": ["A=1"]}, "Values must be an object"),
        ({"IsEncrypted": True, "Values": {}}, "encrypted"),
        (["Values"], "must hold a JSON object"),
    ],
)
def test_bad_files_raise_value_error(tmp_path: Path, document: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"local\.settings\.json") as caught:
        load_local_values(write(tmp_path, document), {})
    assert message in str(caught.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_local_values(path, {})
