"""The command-line client against the real Function App in a local host process.

Most commands run in-process through `main(argv)` (fast, output captured by capsys); one test runs
`python -m shared.cli` as a real subprocess, configured through the environment only.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shared.cli.__main__ import main
from shared.cli.config import api_root, resolve
from shared.cli.output import mask_key
from shared.devhost.azurite import free_ports
from tests.support.stack import Stack, get_run, questions

ROOT = Path(__file__).resolve().parents[2]
FAST = {"latency_ms": 5, "latency_p95_ms": 10}


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config file and no connection settings from the environment."""
    path = tmp_path / "cli" / "config.json"
    monkeypatch.setenv("TOKENROUTE_CONFIG", str(path))
    monkeypatch.delenv("TOKENROUTE_BASE_URL", raising=False)
    monkeypatch.delenv("TOKENROUTE_API_KEY", raising=False)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def connection(stack: Stack) -> list[str]:
    """The connection flags for the stack (the host's root URL: the CLI adds /api/v1)."""
    return ["--base-url", f"http://127.0.0.1:{stack.host.port}", "--api-key", stack.seeded.api_key]


def suite_id_of(out: str) -> str:
    """The suite id from `suites push` output."""
    return out.split("suite:")[1].split()[0]


def version_of(out: str) -> str:
    """The version from `suites push` output."""
    return out.split("version:")[1].split()[0]


def test_login_stores_the_config_and_refuses_a_bad_key(
    stack: Stack, capsys: pytest.CaptureFixture[str], isolated_config: Path
) -> None:
    base_url = f"http://127.0.0.1:{stack.host.port}"
    bad_key = "trk_key_" + "a" * 20 + "_" + "b" * 43
    code, out, err = cli(capsys, "login", "--base-url", base_url, "--api-key", bad_key)
    assert code == 2
    assert "error: Authentication required (401)" in err
    assert "request id: " in err
    assert bad_key not in out + err
    assert not isolated_config.exists()

    key = stack.seeded.api_key
    code, out, err = cli(capsys, "login", "--base-url", base_url, "--api-key", key)
    assert code == 0, err
    assert f"Signed in to {base_url} with key {mask_key(key)}" in out
    assert stack.project in out
    assert key not in out + err
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    assert json.loads(isolated_config.read_text()) == {"base_url": base_url, "api_key": key}
    # Later commands need no flags: the config supplies both.
    code, out, err = cli(capsys, "suites", "list")
    assert code == 0, err
    assert out.startswith("id ")


def test_push_jsonl_and_csv_and_the_same_file_again(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    jsonl = tmp_path / "arithmetic.jsonl"
    jsonl.write_text('{"id": "a", "prompt": "2+2?", "expected": "4"}\n{"id": "b", "prompt": "3*3?", "expected": "9"}\n')
    code, first, err = cli(capsys, "suites", "push", str(jsonl), *connection(stack))
    assert code == 0, err
    assert "(arithmetic, created)" in first
    assert "(created)" in first.split("version:")[1]
    assert "cases:   2" in first

    code, again, err = cli(capsys, "suites", "push", str(jsonl), *connection(stack))
    assert code == 0, err
    assert suite_id_of(again) == suite_id_of(first)
    assert version_of(again) == version_of(first)
    assert "(existing)" in again
    assert "created" not in again

    csv = tmp_path / "capitals.csv"
    csv.write_text('id,prompt,expected\nfr,"Capital of France?",Paris\njp,Capital of Japan?,Tokyo\nit,Rome?,Rome\n')
    code, out, err = cli(capsys, "suites", "push", str(csv), "--name", "Capitals", *connection(stack))
    assert code == 0, err
    assert "(Capitals, created)" in out
    assert "cases:   3" in out
    # --suite pushes into an existing suite: the same content is the same version.
    code, out, err = cli(capsys, "suites", "push", str(csv), "--suite", suite_id_of(out), *connection(stack))
    assert code == 0, err
    assert "(existing)" in out

    suites = stack.client.get(stack.url("/suites")).json()["items"]
    assert sorted(s["name"] for s in suites) == ["Capitals", "arithmetic"]


def test_an_invalid_suite_file_prints_every_problem(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "2+2?"}\nnot json\n')
    code, _, err = cli(capsys, "suites", "push", str(bad), *connection(stack))
    assert code == 2
    assert "error: Invalid suite (422)" in err
    assert "  body." in err  # each problem with its path
    assert "request id: " in err

    code, _, err = cli(capsys, "suites", "push", str(tmp_path / "cases.txt"), *connection(stack))
    assert code == 1
    assert "unknown file type" in err


def test_start_watch_show_and_compare(stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    suite_file = tmp_path / "questions.json"
    suite_file.write_text(json.dumps(questions(20)))
    code, out, err = cli(capsys, "suites", "push", str(suite_file), *connection(stack))
    assert code == 0, err
    suite, version = suite_id_of(out), version_of(out)

    targets = [
        {"provider": "sandbox", "model": "sandbox/fast-accurate", "label": "fast-accurate", "sandbox": FAST},
        {"provider": "sandbox", "model": "sandbox/cheap-sloppy", "label": "cheap-sloppy", "sandbox": FAST},
    ]
    code, out, err = cli(
        capsys,
        "runs", "start", "--suite", suite, "--version", version,
        "--target-json", json.dumps(targets[0]), "--target-json", json.dumps(targets[1]),
        "--concurrency", "8", "--budget", "1", "--watch", "--poll", "0.2",
        *connection(stack),
    )  # fmt: skip
    assert code == 0, err
    run_id = out.split("Run ")[1].split()[0]
    assert get_run(stack, run_id)["status"] == "completed"
    assert "estimated cost: at most" in out
    assert "[##############################]   40/40 items" in out
    board = out.split("Leaderboard")[1]
    assert "fast-accurate" in board
    assert "cheap-sloppy" in board
    expected = stack.client.get(stack.url(f"/runs/{run_id}/compare"), params={"a": "t00", "b": "t01"}).json()
    assert expected["statement"] in out

    code, out, err = cli(capsys, "runs", "show", run_id, *connection(stack))
    assert code == 0, err
    assert f"Run {run_id} completed" in out
    assert "40/40 items" in out
    assert "Leaderboard" in out

    # Targets by label or by id; the statement is the API's.
    code, out, err = cli(capsys, "runs", "compare", run_id, "cheap-sloppy", "t00", *connection(stack))
    assert code == 0, err
    reverse = stack.client.get(stack.url(f"/runs/{run_id}/compare"), params={"a": "t01", "b": "t00"}).json()
    assert reverse["statement"] in out
    assert "A t01: cheap-sloppy" in out
    code, out, err = cli(capsys, "runs", "compare", run_id, "t00", "t01", "--metric", "score", *connection(stack))
    assert code == 0, err
    assert "on mean score" in out

    code, _, err = cli(capsys, "runs", "compare", run_id, "t00", "nobody", *connection(stack))
    assert code == 1
    assert "'nobody' is not a target of run" in err


def test_api_refusals_print_each_field_and_exit_2(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    suite_file = tmp_path / "questions.json"
    suite_file.write_text(json.dumps(questions(2)))
    code, out, err = cli(capsys, "suites", "push", str(suite_file), *connection(stack))
    assert code == 0, err
    start = ["runs", "start", "--suite", suite_id_of(out), *connection(stack)]  # latest version by default

    code, out, err = cli(capsys, *start, "--target", "openai:gpt-4o-mini")
    assert code == 2
    assert "error: Invalid request (422)" in err
    assert "  body.targets[0].credential_id: required for a provider target" in err
    assert "request id: " in err
    assert out == ""

    code, _, err = cli(capsys, *start, "--target", "nosuch:model")
    assert code == 2
    assert "body.targets[0].provider: unknown provider 'nosuch'" in err

    # Schema validation: every failing field is listed.
    code, _, err = cli(
        capsys, *start, "--target", "sandbox:sandbox/fast-accurate", "--trials", "0", "--concurrency", "0"
    )
    assert code == 2
    assert "  body.trials: " in err
    assert "  body.concurrency: " in err

    code, _, err = cli(capsys, "runs", "show", "run_" + "a" * 20, *connection(stack))
    assert code == 2
    assert "error: Not found (404)" in err
    assert stack.seeded.api_key not in err


def test_an_unreachable_base_url_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_ports(1)[0]
    key = "trk_key_" + "a" * 20 + "_" + "s3cret" * 7 + "x"
    # The connection flags work before the command name too.
    code, out, err = cli(capsys, "--base-url", f"http://127.0.0.1:{port}", "--api-key", key, "runs", "show", "run_x")
    assert code == 3
    assert f"error: could not reach http://127.0.0.1:{port}: connection refused" in err
    assert key not in out + err


def test_no_key_anywhere_says_how_to_sign_in(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "suites", "list")
    assert code == 1
    assert "tokenroute login" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "runs", "start", "--suite", "ste_x", "--target", "no-colon")
    assert code == 2
    assert "expected PROVIDER:MODEL[:CREDENTIAL_ID]" in err
    code, _, err = cli(capsys, "runs", "start", "--suite", "ste_x", "--target-json", "[1]")
    assert code == 2
    assert "a target must be a JSON object" in err


def test_settings_precedence_flag_then_environment_then_config(
    monkeypatch: pytest.MonkeyPatch, isolated_config: Path
) -> None:
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text(json.dumps({"base_url": "http://config", "api_key": "trk_config"}))
    assert resolve(None, None).base_url == "http://config"
    monkeypatch.setenv("TOKENROUTE_BASE_URL", "http://env/")
    monkeypatch.setenv("TOKENROUTE_API_KEY", "trk_env")
    assert resolve(None, None).base_url == "http://env"
    assert resolve(None, None).api_key == "trk_env"
    assert resolve("http://flag", "trk_flag").base_url == "http://flag"
    assert resolve("http://flag", "trk_flag").api_key == "trk_flag"


def test_base_urls_and_masking() -> None:
    assert api_root("https://x.example") == "https://x.example/api/v1"
    assert api_root("https://x.example/api/") == "https://x.example/api/v1"
    assert api_root("https://x.example/api/v1") == "https://x.example/api/v1"
    assert mask_key("trk_key_" + "a" * 20 + "_" + "b" * 39 + "abcd") == "trk_…abcd"
    assert mask_key("short") == "…"


def test_the_installed_module_runs_as_a_subprocess(stack: Stack, tmp_path: Path) -> None:
    """`python -m shared.cli`, configured by the environment only, with the plain --target syntax."""
    suite_file = tmp_path / "cases.jsonl"
    suite_file.write_text(
        "".join(json.dumps({"id": f"c{i}", "prompt": f"{i}+1?", "expected": str(i + 1)}) + "\n" for i in range(6))
    )
    env = {
        **os.environ,
        "TOKENROUTE_CONFIG": str(tmp_path / "none.json"),
        "TOKENROUTE_BASE_URL": f"http://127.0.0.1:{stack.host.port}/api",
        "TOKENROUTE_API_KEY": stack.seeded.api_key,
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shared.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    pushed = run("suites", "push", str(suite_file))
    assert pushed.returncode == 0, pushed.stderr
    started = run(
        "runs", "start", "--suite", suite_id_of(pushed.stdout),
        "--target", "sandbox:sandbox/fast-accurate", "--target", "sandbox:sandbox/cheap-sloppy",
        "--watch", "--poll", "0.2",
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    assert "12/12 items" in started.stdout
    assert "sandbox:sandbox/fast-accurate" in started.stdout.split("Leaderboard")[1]
    assert "sandbox:sandbox/cheap-sloppy" in started.stdout.split("Leaderboard")[1]
    assert "(difference " in started.stdout.split("Leaderboard")[1]  # the comparison statement
    assert stack.seeded.api_key not in started.stdout + started.stderr


def test_routes_decide_and_show(stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    suite_file = tmp_path / "questions.json"
    suite_file.write_text(json.dumps(questions(20)))
    code, out, err = cli(capsys, "suites", "push", str(suite_file), *connection(stack))
    assert code == 0, err
    suite, version = suite_id_of(out), version_of(out)
    targets = [
        {"provider": "sandbox", "model": "sandbox/fast-accurate", "sandbox": FAST},
        {"provider": "sandbox", "model": "sandbox/cheap-sloppy", "sandbox": FAST},
    ]
    code, out, err = cli(
        capsys,
        "runs", "start", "--suite", suite, "--version", version,
        "--target-json", json.dumps(targets[0]), "--target-json", json.dumps(targets[1]),
        "--watch", "--poll", "0.2", *connection(stack),
    )  # fmt: skip
    assert code == 0, err
    run_id = out.split("Run ")[1].split()[0]

    code, out, err = cli(
        capsys, "routes", "decide", "triage", "--run", run_id, "--objective", "minimize_cost", *connection(stack)
    )
    assert code == 0, err
    decision_id = out.split("Decision ")[1].split()[0]
    stored = stack.client.get(stack.url(f"/route-decisions/{decision_id}")).json()["decision"]
    assert f"chosen:    {stored['chosen'] or '(none)'}" in out
    assert stored["confidence_statement"] in out

    code, out, err = cli(capsys, "routes", "show", "triage", *connection(stack))
    assert code == 0, err
    assert f"decision {decision_id}" in out
    assert ": current" in out

    code, _, err = cli(capsys, "routes", "show", "no-such-task", *connection(stack))
    assert code == 2
    assert "Not found" in err


def test_exports_create_and_download_a_pack(stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    suite_file = tmp_path / "questions.json"
    suite_file.write_text(json.dumps(questions(10)))
    code, out, err = cli(capsys, "suites", "push", str(suite_file), *connection(stack))
    assert code == 0, err
    target = {"provider": "sandbox", "model": "sandbox/fast-accurate", "sandbox": FAST}
    code, out, err = cli(
        capsys,
        "runs", "start", "--suite", suite_id_of(out), "--version", version_of(out),
        "--target-json", json.dumps(target), "--watch", "--poll", "0.2", *connection(stack),
    )  # fmt: skip
    assert code == 0, err
    run_id = out.split("Run ")[1].split()[0]

    pack = tmp_path / "pack.zip"
    code, out, err = cli(
        capsys, "exports", "create", "run", run_id, "--download", str(pack), "--poll", "0.2", *connection(stack)
    )
    assert code == 0, err
    assert f"Saved {pack}" in out
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "report.html", f"runs/{run_id}/results.jsonl"} <= names
        lines = archive.read(f"runs/{run_id}/results.jsonl").decode().splitlines()
    assert len(lines) == 10
    assert not pack.with_name("pack.zip.part").exists()

    code, _, err = cli(capsys, "exports", "create", "run", *connection(stack))
    assert code == 1
    assert "needs its id" in err

    # The pack comes back in as a new suite with the same version, replayed on another target.
    replay = ["--target", "sandbox:sandbox/cheap-sloppy", "--trials", "2"]
    code, out, err = cli(capsys, "exports", "import", str(pack), *replay, *connection(stack))
    assert code == 0, err
    imported_suite = out.split("Imported suite ")[1].split()[0]
    replay_id = out.split("Run ")[1].split()[0]
    replayed = stack.client.get(stack.url(f"/runs/{replay_id}")).json()
    assert (replayed["suite_id"], replayed["trials"]) == (imported_suite, 2)
    assert [t["model"] for t in replayed["targets"]] == ["sandbox/cheap-sloppy"]
    code, _, err = cli(capsys, "exports", "import", str(pack), *replay, "--budget", "0.0000001", *connection(stack))
    assert code != 0
    assert "budget" in err.lower()
