"""`tokenroute runs start|watch|show|compare`: start a run, follow it, print its leaderboard and comparisons."""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.config import resolve
from shared.cli.errors import EXIT_LOCAL, CliError
from shared.cli.output import ProgressPrinter, leaderboard, progress_bar, ranking

ACTIVE = ("queued", "running")
_TARGET_ID = re.compile(r"^t[0-9]{2}$")


def parse_target(text: str) -> dict[str, Any]:
    """`PROVIDER:MODEL[:CREDENTIAL_ID]` -> a target object.

    Model names may contain colons (`ft:gpt-4o-mini:org:x`), so only a last part that looks like a
    credential id (`crd_...`) is taken as the credential.
    """
    provider, sep, rest = text.partition(":")
    if not sep or not provider or not rest:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PROVIDER:MODEL[:CREDENTIAL_ID]")
    model, sep, last = rest.rpartition(":")
    if sep and model and last.startswith("crd_"):
        return {"provider": provider, "model": model, "credential_id": last}
    return {"provider": provider, "model": rest}


def parse_target_json(text: str) -> dict[str, Any]:
    """A full target object as JSON (params, sandbox simulation parameters, label, stream)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("a target must be a JSON object")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `runs start|watch|show|compare`."""
    runs = subparsers.add_parser("runs", help="start, watch, show and compare runs")
    commands = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")

    start_parser = commands.add_parser(
        "start",
        parents=[common],
        help="start a run",
        description="Starts a run of a suite version against targets and prints its id and cost estimate. "
        "With --watch, follows it to the end and exits 0 only when it completed.",
    )
    start_parser.add_argument("--suite", required=True, metavar="ID", help="suite id (ste_...)")
    start_parser.add_argument("--version", metavar="SHA", help="suite version (default: the suite's latest)")
    # Both target options append to one list, so targets keep the order given (t00, t01, ...).
    start_parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        type=parse_target,
        metavar="PROVIDER:MODEL[:CREDENTIAL_ID]",
        help="a target, e.g. sandbox:sandbox/fast-accurate or openai:gpt-4o-mini:crd_...; repeat for more",
    )
    start_parser.add_argument(
        "--target-json",
        dest="targets",
        action="append",
        type=parse_target_json,
        metavar="JSON",
        help='a full target object, e.g. \'{"provider": "sandbox", "model": "sandbox/x", "sandbox": {...}}\'',
    )
    start_parser.add_argument("--trials", type=int, help="trials per case (default 1)")
    start_parser.add_argument("--concurrency", type=int, help="provider calls in flight at most (default 8)")
    start_parser.add_argument("--budget", metavar="USD", help="refuse the run if the estimate is above this")
    start_parser.add_argument("--watch", action="store_true", help="follow the run, then print its results")
    _poll_option(start_parser)
    start_parser.set_defaults(handler=start)

    watch_parser = commands.add_parser(
        "watch", parents=[common], help="follow a run to its end, then print its results (exit 0 if completed)"
    )
    watch_parser.add_argument("run", metavar="RUN")
    _poll_option(watch_parser)
    watch_parser.set_defaults(handler=watch)

    show_parser = commands.add_parser("show", parents=[common], help="a run's status, progress and leaderboard")
    show_parser.add_argument("run", metavar="RUN")
    show_parser.set_defaults(handler=show)

    compare_parser = commands.add_parser(
        "compare", parents=[common], help="compare two targets of a run (paired test on shared cases)"
    )
    compare_parser.add_argument("run", metavar="RUN")
    compare_parser.add_argument("a", metavar="A", help="target id (t00) or label")
    compare_parser.add_argument("b", metavar="B", help="target id (t01) or label")
    compare_parser.add_argument("--metric", choices=("pass", "score"), default="pass")
    compare_parser.set_defaults(handler=compare)


def _poll_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)


def start(args: argparse.Namespace, out: TextIO) -> int:
    """Start the run; print its id and estimate; with --watch, follow it and print the results."""
    if not args.targets:
        raise CliError("a run needs at least one --target or --target-json")
    with Api(resolve(args.base_url, args.api_key)) as api:
        project = api.project()
        version = args.version or _latest_version(api, project, args.suite)
        body: dict[str, Any] = {"suite_id": args.suite, "version": version, "targets": args.targets}
        # Only what was given is sent, so the API's defaults stay the single source of them.
        optional = {"trials": args.trials, "concurrency": args.concurrency, "budget_usd": args.budget}
        body.update({key: value for key, value in optional.items() if value is not None})
        run = api.call("POST", f"{project}/runs", json=body)
        estimate = run["estimate"]
        print(f"Run {run['id']} {run['status']}: {len(run['targets'])} target(s), {run['trials']} trial(s)", file=out)
        print(
            f"  estimated cost: at most {estimate['total_usd']} USD (price table {estimate['price_version']})", file=out
        )
        for target in estimate["unpriced_targets"]:
            print(f"  no price for {target}: its cost is not in the estimate", file=out)
        if not args.watch:
            print(f"  follow it with: tokenroute runs watch {run['id']}", file=out)
            return 0
        return _watch(api, project, run["id"], out, args.poll)


def watch(args: argparse.Namespace, out: TextIO) -> int:
    """Progress bar until the run ends, then leaderboard and the comparison of the two best."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        return _watch(api, api.project(), args.run, out, args.poll)


def show(args: argparse.Namespace, out: TextIO) -> int:
    """Status, progress and (once there are results) the leaderboard."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        project = api.project()
        run = api.call("GET", f"{project}/runs/{args.run}")
        _status_line(run, out)
        if run.get("progress"):
            p = run["progress"]
            print(progress_bar(p["items_done"], p["items_total"], p["errors"]), file=out)
            print(f"  cost so far: {p['cost_usd']} USD", file=out)
        summary = api.call("GET", f"{project}/runs/{args.run}/summary")
        if summary["targets"]:
            print(leaderboard(summary), file=out)
    return 0


def compare(args: argparse.Namespace, out: TextIO) -> int:
    """The paired comparison of two targets: means, difference with its interval, p-value, statement."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        project = api.project()
        run = api.call("GET", f"{project}/runs/{args.run}")
        a, b = _target_id(run, args.a), _target_id(run, args.b)
        result = api.call("GET", f"{project}/runs/{args.run}/compare", params={"a": a, "b": b, "metric": args.metric})
    print(f"A {a}: {result['label_a']:<34} mean {result['mean_a']:.3f}", file=out)
    print(f"B {b}: {result['label_b']:<34} mean {result['mean_b']:.3f}", file=out)
    print(
        f"difference {result['diff']:+.3f} ({result['confidence']:.0%} CI {result['diff_low']:+.3f} to "
        f"{result['diff_high']:+.3f}), p = {result['p_value']:.4f}, {result['method']}, n = {result['n_shared']}",
        file=out,
    )
    print(f"\n{result['statement']}", file=out)
    return 0


def _watch(api: Api, project: str, run_id: str, out: TextIO, poll_s: float) -> int:
    printer = ProgressPrinter(out)
    try:
        while True:
            run = api.call("GET", f"{project}/runs/{run_id}")
            if run.get("progress"):
                p = run["progress"]
                printer.update(p["items_done"], p["items_total"], p["errors"])
            if run["status"] not in ACTIVE:
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        printer.finish()
        # Ctrl-C stops watching, not the run: say how to pick it up again.
        print(f"\nStopped watching; the run goes on: tokenroute runs watch {run_id}", file=out)
        return 130
    printer.finish()
    _status_line(run, out)
    summary = api.call("GET", f"{project}/runs/{run_id}/summary")
    if summary["targets"]:
        print(leaderboard(summary), file=out)
    ranked = ranking(summary)
    if len(ranked) >= 2:
        try:
            comparison = api.call("GET", f"{project}/runs/{run_id}/compare", params={"a": ranked[0], "b": ranked[1]})
            print(f"\n{comparison['statement']}", file=out)
        except CliError as error:
            # A run with no shared answers has nothing to compare; that is a result, not a failure.
            print(f"\nNo comparison: {error.lines[0] if error.lines else error.message}", file=out)
    return 0 if run["status"] == "completed" else EXIT_LOCAL


def _status_line(run: dict[str, Any], out: TextIO) -> None:
    reason = f": {run['status_reason']}" if run.get("status_reason") else ""
    print(f"\nRun {run['id']} {run['status']}{reason}", file=out)


def _latest_version(api: Api, project: str, suite_id: str) -> str:
    suite = api.call("GET", f"{project}/suites/{suite_id}")
    if not suite.get("latest_version"):
        raise CliError(f"suite {suite_id} has no version yet: push one with `tokenroute suites push FILE`")
    return str(suite["latest_version"])


def _target_id(run: dict[str, Any], value: str) -> str:
    """A target id as given (t00), or the id of the target whose label or provider:model is `value`."""
    if _TARGET_ID.match(value):
        return value
    for target in run["targets"]:
        names = {target.get("label"), f"{target['provider']}:{target['model']}", target["model"]}
        if value in names:
            return str(target["id"])
    known = ", ".join(f"{t['id']} ({t.get('label') or t['model']})" for t in run["targets"])
    raise CliError(f"{value!r} is not a target of run {run['id']}", lines=[f"targets: {known}"])
