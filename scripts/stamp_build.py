"""Stamp the package with its version and commit: `python3 scripts/stamp_build.py`.

azd runs this before it zips the Function App (`hooks: prepackage` in azure.yaml), so the
deployed `shared/_build.json` says which build is running and `GET /api/health` shows it.
Only the standard library and `shared`'s two smallest modules are used, so whatever `python3` the
deploying machine has (3.9 or later) will do, not only the project's 3.11.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # Run as a file (the azd hook), `shared` is not importable until the project root is on the path.
    sys.path.insert(0, str(ROOT))

from shared import __version__  # noqa: E402 - needs the path set above
from shared.build_info import BuildInfo, write_stamp  # noqa: E402 - needs the path set above

# CI systems that check out without a usable .git directory still name the commit they build.
COMMIT_VARIABLES = ("GITHUB_SHA", "BUILD_SOURCEVERSION", "CI_COMMIT_SHA")
SHORT_COMMIT = 12  # as shared.build_info shows a local checkout's commit


def _git(*args: str) -> str | None:
    """Output of one git command in the project, or None when git or the repository is missing."""
    try:
        return subprocess.run(
            ["git", *args],  # noqa: S607 - git from PATH, fixed arguments
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def current_commit(environ: dict[str, str] | None = None) -> str | None:
    """The checked-out commit, `-dirty` when tracked files have uncommitted changes.

    A dirty package is still deployable (a hotfix tried before committing), but its commit alone
    would claim code it does not contain, so the suffix says so.
    """
    commit = _git("rev-parse", f"--short={SHORT_COMMIT}", "HEAD")
    if commit:
        changes = _git("status", "--porcelain", "--untracked-files=no")
        return f"{commit}-dirty" if changes else commit
    env = os.environ if environ is None else environ
    for name in COMMIT_VARIABLES:
        if env.get(name):
            return env[name][:SHORT_COMMIT]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Write the stamp and print what was stamped; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=__version__, help="version to stamp (default: shared.__version__)")
    parser.add_argument("--commit", default=None, help="commit to stamp (default: git, then CI variables)")
    parser.add_argument("--output", type=Path, default=None, help="stamp file (default: shared/_build.json)")
    args = parser.parse_args(argv)

    info = BuildInfo(
        version=args.version,
        commit=args.commit or current_commit(),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 - python3 may be < 3.11
    )
    path = write_stamp(info, args.output)
    print(f"stamped {path}: version {info.version}, commit {info.commit or 'unknown'}, built {info.built_at}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
