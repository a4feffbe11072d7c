"""What build is running: the version and commit stamped into the package at packaging time.

`shared/_build.json` is written by the deployment packaging step (`scripts/stamp_build.py`, run by
azd's `prepackage` hook); locally the commit comes from git when available. The file is
git-ignored: it describes one package, not the source tree.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from shared import __version__

_STAMP = Path(__file__).with_name("_build.json")


@dataclass(frozen=True)
class BuildInfo:
    """Version, commit and when the package was built (None when unknown)."""

    version: str
    commit: str | None
    built_at: str | None


def write_stamp(info: BuildInfo, path: Path | None = None) -> Path:
    """Write `info` as the package's stamp (default `shared/_build.json`); return where it went.

    The stamp is written to a temporary name and renamed, so a reader never sees half a file.
    """
    target = path if path is not None else _STAMP
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    partial.replace(target)
    return target


@cache
def build_info() -> BuildInfo:
    """Read the stamp once; fall back to the git checkout for local runs."""
    if _STAMP.is_file():
        data = json.loads(_STAMP.read_text(encoding="utf-8"))
        return BuildInfo(
            version=data.get("version", __version__), commit=data.get("commit"), built_at=data.get("built_at")
        )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=_STAMP.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    return BuildInfo(version=__version__, commit=commit or None, built_at=None)
