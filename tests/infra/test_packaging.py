"""What azd puts in the package: `.funcignore` (gitignore syntax, honoured by azd's zip deploy)
decides, so every module the app imports must survive it, and the build stamp must too."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from functools import cache
from pathlib import PurePosixPath

import pytest

from tests.infra.example_deployment import app_settings_environment
from tests.infra.templates import ROOT

# Prints the project files the app has imported once `function_app` is loaded.
_IMPORTED_FILES = """
import json, sys
import function_app
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
"""


@cache
def funcignore_patterns() -> tuple[str, ...]:
    """The patterns of `.funcignore`, in order (blank lines and comments dropped)."""
    lines = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def ignored(relative: str) -> bool:
    """Whether `.funcignore` leaves `relative` (a path in the project, `/`-separated) out of the package.

    The subset of gitignore the file uses: a pattern with no slash matches a name at any depth, one
    with a slash matches from the project root, and matching a directory drops everything below it.
    Negations (`!pattern`) re-include.
    """
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for raw in funcignore_patterns():
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").rstrip("/")
        if "/" in pattern:
            hit = any(fnmatch.fnmatchcase(prefix, pattern.lstrip("/")) for prefix in prefixes)
        else:
            hit = any(fnmatch.fnmatchcase(part, pattern) for part in parts)
        if hit:
            result = not negated
    return result


def test_the_ignore_rules_read_as_azd_reads_them() -> None:
    assert ignored("local.settings.json")
    assert ignored("tests/infra/test_packaging.py")
    assert ignored(".venv/lib/python3.11/site-packages/x.py")
    assert ignored("infra/main.bicep")
    assert not ignored("function_app.py")
    assert not ignored("shared/storage/account.py")


def test_the_build_stamp_is_packaged_but_not_committed() -> None:
    assert not ignored("shared/_build.json"), "the stamp must reach the deployed package"
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "shared/_build.json"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        timeout=10,
        check=False,
    )
    if result.returncode == 128:
        pytest.skip("no git checkout")
    assert result.returncode == 0, "shared/_build.json describes one package: keep it out of git"


def test_every_module_the_app_imports_is_packaged() -> None:
    """Import the Function App as Azure would (the templates' settings, nothing local) and list its files."""
    environ = {"PATH": "/usr/bin:/bin", **app_settings_environment()}
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED_FILES],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    project = ROOT.resolve()
    imported = [path for path in json.loads(result.stdout) if path.startswith(str(project) + "/")]
    relative = [PurePosixPath(path).relative_to(project.as_posix()).as_posix() for path in imported]
    ours = [path for path in relative if not path.startswith(".venv/")]
    assert "function_app.py" in ours
    left_out = [path for path in ours if ignored(path)]
    assert not left_out, f"imported by the app but left out of the package by .funcignore: {left_out}"
