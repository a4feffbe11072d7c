"""Packs without storage: the streamed zip, its manifest, verification, and report.html as a document."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shared.exports.content import RunFacts, histogram
from shared.exports.report import pareto, render
from shared.exports.verify import PackRefused, verify_pack
from shared.exports.zipstream import PackFile, ZipStream
from shared.runs.models import RunRecord, RunStatus, TargetSpec
from shared.stats.summary import ItemOutcome, summarize_target

HEADER = {"schema": "tokenroute.pack", "schema_version": "1.0"}


def files() -> list[PackFile]:
    lines = [json.dumps({"i": i}).encode() + b"\n" for i in range(5000)]
    return [
        PackFile("a.json", "application/json", lambda: [b'{"a": 1}']),
        PackFile("runs/r/results.jsonl", "application/x-ndjson", lambda: iter(lines)),
    ]


def pack() -> bytes:
    return b"".join(ZipStream(dict(HEADER)).chunks(files()))


def test_same_content_gives_the_same_bytes() -> None:
    assert pack() == pack()


def test_chunks_flow_before_the_end() -> None:
    # The zip is handed on while it is written, never held whole.
    chunks = [c for c in ZipStream(dict(HEADER)).chunks(files()) if c]
    assert len(chunks) > 2


def test_manifest_is_last_and_verifies() -> None:
    data = pack()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist()[-1] == "manifest.json"
    verified = verify_pack(io.BytesIO(data))
    assert [f["path"] for f in verified.manifest["files"]] == ["a.json", "runs/r/results.jsonl"]


def _rezip(data: bytes, change: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> io.BytesIO:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = change.get(name, source.read(name))
            if content is not None:
                target.writestr(name, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    out.seek(0)
    return out


@pytest.mark.parametrize(
    ("change", "extra", "path"),
    [
        ({"a.json": b'{"a": 2}'}, None, "a.json"),
        ({"a.json": None}, None, "a.json"),
        ({}, {"evil.txt": b"x"}, "evil.txt"),
        ({"manifest.json": None}, None, "manifest.json"),
        ({"manifest.json": b"{"}, None, "manifest.json"),
    ],
)
def test_a_changed_missing_or_extra_file_is_refused(
    change: dict[str, bytes | None], extra: dict[str, bytes] | None, path: str
) -> None:
    with pytest.raises(PackRefused) as refused:
        verify_pack(_rezip(pack(), change, extra))
    assert refused.value.path == path


def test_pareto_keeps_only_undominated_points() -> None:
    points = [("best", 0.9, 2.0), ("cheap", 0.6, 0.5), ("worse", 0.5, 1.0), ("tie", 0.9, 2.0)]
    assert pareto(points) == ["best", "cheap", "tie"]


def test_histogram_counts_every_value() -> None:
    assert sum(histogram([1.0, 2.0, 3.0, 100.0])["counts"]) == 4
    assert histogram([])["counts"] == []


class _Checker(HTMLParser):
    """Counts open tags (void elements excepted) and collects URLs of attributes."""

    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)
        self.urls += [v for k, v in attrs if v and k in ("src", "href", "xlink:href", "action")]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an opening tag"
        assert self.stack.pop() == tag, f"</{tag}> closes another element"


def report_html(runs: int = 1) -> bytes:
    run = RunRecord(
        partition_key="ten~prj",
        row_key="run_abcdefghijklmnopqrst",
        suite_id="ste_abcdefghijklmnopqrst",
        version="0" * 64,
        targets=[TargetSpec(provider="openai", model="<script>alert(1)</script>"), TargetSpec(provider="x", model="y")],
        trials=1,
        concurrency=1,
        seed=0,
        status=RunStatus.COMPLETED,
        shard_count=2,
        item_count=200,
        price_version="2025-06-01",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        created_by="user",
    )
    facts = RunFacts(run, lines=200)
    for key, rate, cost in (("t00", 0.9, "0.004"), ("t01", 0.6, "0.001")):
        items = [
            ItemOutcome(
                score=1.0 if i < rate * 100 else 0.0, passed=i < rate * 100, latency_ms=100.0 + i, cost=Decimal(cost)
            )
            for i in range(100)
        ]
        facts.summaries[key] = summarize_target(items)
        facts.histograms[key] = histogram([100.0 + i for i in range(100)])
    return render("Pack <of> a run", datetime(2026, 1, 1, tzinfo=UTC), [facts] * runs, [])


def test_report_shows_trends_across_runs() -> None:
    html = report_html(runs=3).decode()
    assert "Trends" in html
    assert html.count("<h2>Run ") == 3


def test_report_is_self_contained_and_well_formed() -> None:
    html = report_html().decode()
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == []
    assert {"svg", "table", "polyline", "circle", "rect"} <= checker.tags
    assert checker.urls == []
    assert "<script" not in html  # tenant text is escaped, and the page needs no script
    assert "&lt;script&gt;" in html
    # The only URL is SVG's namespace name, which is never fetched.
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in html
    assert "url(" not in html


# CI installs Chromium (.ci/run) and must run this; a developer machine without it skips.
@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"), reason="Debian's chromium is not installed here"
)
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None
    page = tmp_path / "report.html"
    page.write_bytes(report_html())
    shot = Path("test-artifacts") / "report.png"
    shot.parent.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--window-size=1200,2400",
            f"--screenshot={shot.resolve()}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 0
    console_errors = [line for line in done.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert console_errors == []
