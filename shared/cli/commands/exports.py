"""`tokenroute exports create|download|import`: build a benchmark pack, fetch it, import (and replay) one."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.commands.runs import parse_target, parse_target_json
from shared.cli.config import resolve
from shared.cli.errors import EXIT_LOCAL, CliError

_KINDS = ("run", "suite", "decision", "project")
# The import's replay travels in this header, as the body is the pack (see docs/pack-schema.md).
REPLAY_HEADER = "TokenRoute-Replay"
# Uploading and verifying a large pack takes longer than an ordinary call.
IMPORT_TIMEOUT_S = 600.0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `exports create|download`."""
    exports = subparsers.add_parser("exports", help="benchmark packs: build and download")
    commands = exports.add_subparsers(dest="exports_command", required=True, metavar="COMMAND")

    create_parser = commands.add_parser(
        "create",
        parents=[common],
        help="build a pack of a run, suite, route decision or the whole project",
        description="Queues the pack's build and prints its export id; with --download, waits for it and saves it.",
    )
    create_parser.add_argument("kind", choices=_KINDS)
    create_parser.add_argument("id", nargs="?", help="the run, suite or decision id (none for a project)")
    create_parser.add_argument("--download", metavar="FILE", type=Path, help="wait for the pack and save it here")
    create_parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    create_parser.set_defaults(handler=create)

    download_parser = commands.add_parser("download", parents=[common], help="save a ready pack to a file")
    download_parser.add_argument("export", metavar="EXPORT")
    download_parser.add_argument("file", type=Path, metavar="FILE")
    download_parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    download_parser.set_defaults(handler=download)

    import_parser = commands.add_parser(
        "import",
        parents=[common],
        help="import a pack (its suites), optionally replaying it on new targets",
        description="Uploads the pack; the API verifies every file's hash and creates its suites. With targets, "
        "a run of the pack's suite version on them starts too (refused, with nothing imported, when the "
        "estimate is above --budget).",
    )
    import_parser.add_argument("pack", type=Path, metavar="PACK", help="the pack's zip file")
    # Both target options append to one list, so targets keep the order given (t00, t01, ...).
    import_parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        type=parse_target,
        metavar="PROVIDER:MODEL[:CREDENTIAL_ID]",
        help="replay on this target, e.g. sandbox:sandbox/fast-accurate; repeat for more",
    )
    import_parser.add_argument(
        "--target-json", dest="targets", action="append", type=parse_target_json, metavar="JSON",
        help="replay on this full target object",
    )  # fmt: skip
    import_parser.add_argument(
        "--version", metavar="SHA", help="the suite version to replay (when the pack has several)"
    )
    import_parser.add_argument("--trials", type=int, help="trials per case (default 1)")
    import_parser.add_argument("--concurrency", type=int, help="provider calls in flight at most (default 8)")
    import_parser.add_argument("--budget", metavar="USD", help="refuse the replay (and the import) above this estimate")
    import_parser.set_defaults(handler=import_pack)


def create(args: argparse.Namespace, out: TextIO) -> int:
    """Queue the export; optionally wait and download it."""
    if args.kind != "project" and not args.id:
        raise CliError(f"an export of a {args.kind} needs its id", exit_code=EXIT_LOCAL)
    body: dict[str, Any] = {"kind": args.kind}
    if args.id:
        body["id"] = args.id
    with Api(resolve(args.base_url, args.api_key)) as api:
        project = api.project()
        export = api.call("POST", f"{project}/exports", json=body)
        print(f"Export {export['id']} {export['status']} ({args.kind} {args.id or ''})".rstrip(), file=out)
        if args.download is None:
            print(f"  fetch it with: tokenroute exports download {export['id']} FILE", file=out)
            return 0
        return _save(api, project, export["id"], args.download, out, args.poll)


def download(args: argparse.Namespace, out: TextIO) -> int:
    """Wait until the pack is ready, then stream it into FILE."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        return _save(api, api.project(), args.export, args.file, out, args.poll)


def _save(api: Api, project: str, export_id: str, target: Path, out: TextIO, poll_s: float) -> int:
    while True:
        export = api.call("GET", f"{project}/exports/{export_id}")
        if export["status"] == "ready":
            break
        if export["status"] == "failed":
            raise CliError(f"export {export_id} failed to build", exit_code=EXIT_LOCAL)
        if export["status"] == "expired":
            raise CliError(f"export {export_id} has expired (its pack was deleted); export again", exit_code=EXIT_LOCAL)
        time.sleep(poll_s)
    written = api.download(f"{project}/exports/{export_id}/download", target)
    print(f"Saved {target} ({written:,} bytes)", file=out)
    return 0


def import_pack(args: argparse.Namespace, out: TextIO) -> int:
    """Upload the pack (streamed from the file), print the suites created and the replay's run."""
    replay_options = (args.version, args.trials, args.concurrency, args.budget)
    if not args.targets and any(option is not None for option in replay_options):
        raise CliError("--version, --trials, --concurrency and --budget need a replay --target", exit_code=EXIT_LOCAL)
    if not args.pack.is_file():
        raise CliError(f"{args.pack}: no such file", exit_code=EXIT_LOCAL)
    headers = {"Content-Type": "application/zip"}
    if args.targets:
        replay: dict[str, Any] = {"targets": args.targets}
        # Only what was given is sent, so the API's defaults stay the single source of them.
        optional = {
            "version": args.version,
            "trials": args.trials,
            "concurrency": args.concurrency,
            "budget_usd": args.budget,
        }
        replay.update({key: value for key, value in optional.items() if value is not None})
        headers[REPLAY_HEADER] = json.dumps(replay)  # ASCII: json.dumps escapes the rest
    with Api(resolve(args.base_url, args.api_key)) as api, args.pack.open("rb") as pack:
        project = api.project()
        imported = api.call("POST", f"{project}/imports", content=pack, headers=headers, timeout=IMPORT_TIMEOUT_S)
    for suite in imported["suites"]:
        versions = ", ".join(version[:12] for version in suite["versions"])
        print(f"Imported suite {suite['suite_id']} (from {suite['source_suite_id']}): versions {versions}", file=out)
    run = imported.get("replay")
    if run is not None:
        print(
            f"Run {run['id']} {run['status']}: version {run['version'][:12]}, {len(run['targets'])} target(s)", file=out
        )
        print(f"  estimated cost: at most {run['estimate']['total_usd']} USD", file=out)
        print(f"  follow it with: tokenroute runs watch {run['id']}", file=out)
    return 0
