"""The README's API tour runs as written: its bash blocks, in order, against the real Function App.

The blocks are taken from the section between `## API tour` and the next `## ` heading and run as one
script with `bash -euo pipefail`, so a failing curl (`--fail-with-body`) or a missing variable fails
the test. Only `KEY` and `API` come from the test, exactly as a reader sets them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## API tour"
_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def tour_blocks(readme: str) -> list[str]:
    """The bash blocks of the tour section, in order."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    return [match.group(1) for match in _BLOCK.finditer(section)]


def test_the_tour_has_blocks_that_use_only_curl_and_python() -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    script = "\n".join(blocks)
    assert "$API" in script
    assert "$KEY" in script
    # The same text must work for a reader on any host: no ports or keys of a test run baked in.
    assert "trk_" not in script.replace("trk_...", "")


def test_the_tour_runs_against_the_local_host(stack: Stack, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = "\n".join(tour_blocks(README.read_text(encoding="utf-8")))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "KEY": stack.seeded.api_key,
        "API": f"http://127.0.0.1:{stack.host.port}/api",
    }
    started = time.monotonic()
    # cwd: the tour writes cases.jsonl where it runs.
    done = subprocess.run(
        [bash, "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    print(f"tour took {time.monotonic() - started:.1f} s\n{done.stdout}\n{done.stderr}")
    assert done.returncode == 0, done.stderr[-3000:] or done.stdout[-3000:]
    assert re.search(r"^run run_[a-z2-7]{20}: completed$", done.stdout, re.MULTILINE), done.stdout
    assert "urn:tokenroute:problem:validation" in done.stdout  # the error example shows a problem
    # The last lines are the summary: one line per target with its pass rate.
    last = done.stdout.strip().splitlines()[-2:]
    assert all("pass rate" in line for line in last), last
    assert (tmp_path / "cases.jsonl").is_file()
