"""The build stamp: `scripts/stamp_build.py` (azd's prepackage hook) writes version and commit,
`shared.build_info` reads them back, and `GET /api/health` shows them.

Every test writes its stamp under tmp_path and points `shared.build_info._STAMP` there, so no
`shared/_build.json` is left behind in the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from scripts import stamp_build
from shared import __version__, build_info
from shared.api.app import create_api
from shared.config import Settings
from shared.services import Services
from tests.infra.templates import ROOT

CHECKOUT_STAMP = ROOT / "shared" / "_build.json"


@pytest.fixture
def stamp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where this test's stamp goes; `build_info()` reads it (its cache cleared before and after)."""
    existed = CHECKOUT_STAMP.exists()
    path = tmp_path / "_build.json"
    monkeypatch.setattr(build_info, "_STAMP", path)
    build_info.build_info.cache_clear()
    yield path
    build_info.build_info.cache_clear()
    assert CHECKOUT_STAMP.exists() == existed, "a test wrote shared/_build.json in the checkout"


def _git_head() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def test_the_script_writes_version_commit_and_time(stamp_path: Path) -> None:
    assert stamp_build.main(["--output", str(stamp_path), "--commit", "0123456789ab"]) == 0
    stamped = json.loads(stamp_path.read_text(encoding="utf-8"))
    assert stamped["version"] == __version__
    assert stamped["commit"] == "0123456789ab"
    assert datetime.fromisoformat(stamped["built_at"]).utcoffset() is not None  # an aware UTC time
    assert not stamp_path.with_name("_build.json.tmp").exists()


def test_build_info_reads_the_stamp_back(stamp_path: Path) -> None:
    stamp_build.main(["--output", str(stamp_path), "--version", "1.2.3", "--commit", "feedfacecafe"])
    info = build_info.build_info()
    assert (info.version, info.commit) == ("1.2.3", "feedfacecafe")
    assert info.built_at is not None


def test_the_commit_defaults_to_the_checkout(stamp_path: Path) -> None:
    head = _git_head()
    if head is None:
        pytest.skip("no git checkout to read the commit from")
    stamp_build.main(["--output", str(stamp_path)])
    commit = json.loads(stamp_path.read_text(encoding="utf-8"))["commit"]
    # "-dirty" when tracked files have uncommitted changes: the commit alone would overclaim.
    assert commit in (head, f"{head}-dirty")


def test_without_git_the_commit_comes_from_the_ci_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamp_build, "_git", lambda *args: None)
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    assert stamp_build.current_commit({"GITHUB_SHA": sha}) == sha[:12]
    assert stamp_build.current_commit({"BUILD_SOURCEVERSION": sha}) == sha[:12]
    assert stamp_build.current_commit({}) is None


def test_the_script_runs_as_the_azd_hook_runs_it(stamp_path: Path) -> None:
    """As a file, from the project root, with nothing on PYTHONPATH."""
    result = subprocess.run(
        [sys.executable, "scripts/stamp_build.py", "--output", str(stamp_path), "--commit", "abc"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "commit abc" in result.stdout
    assert json.loads(stamp_path.read_text(encoding="utf-8"))["commit"] == "abc"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real API over the session's Azurite, called in process (as tests/api does)."""
    api = create_api(settings, Services(settings))
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client,
    ):
        yield client


async def test_health_shows_the_stamped_build(stamp_path: Path, client: httpx.AsyncClient) -> None:
    stamp_build.main(["--output", str(stamp_path), "--commit", "c0ffee123456"])
    response = await client.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == __version__
    assert body["commit"] == "c0ffee123456"
