"""`tokenroute exports create|download`: build a benchmark pack and fetch it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.config import resolve
from shared.cli.errors import EXIT_LOCAL, CliError

_KINDS = ("run", "suite", "decision", "project")


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
        time.sleep(poll_s)
    written = api.download(f"{project}/exports/{export_id}/download", target)
    print(f"Saved {target} ({written:,} bytes)", file=out)
    return 0
