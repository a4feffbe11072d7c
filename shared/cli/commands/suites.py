"""`tokenroute suites push|list`: upload a suite file as a version; list the project's suites."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.config import resolve
from shared.cli.errors import CliError

# The media type the API reads each file extension as (see the versions route).
CONTENT_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".csv": "text/csv",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}
PAGE = 200


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `suites push` and `suites list`."""
    suites = subparsers.add_parser("suites", help="push suite files, list suites")
    commands = suites.add_subparsers(dest="suites_command", required=True, metavar="COMMAND")

    push_parser = commands.add_parser(
        "push",
        parents=[common],
        help="upload a suite file as a version",
        description="Uploads FILE (.json, .jsonl, .csv, .yaml/.yml) as a version of a suite. The suite is found by "
        "--suite, or by --name (default: the file name without extension) and created when missing. The same "
        "content always gives the same version.",
    )
    push_parser.add_argument("file", metavar="FILE", type=Path)
    which = push_parser.add_mutually_exclusive_group()
    which.add_argument("--suite", metavar="ID", help="an existing suite id (ste_...)")
    which.add_argument("--name", metavar="NAME", help="the suite's name; created if no suite has it")
    push_parser.set_defaults(handler=push)

    list_parser = commands.add_parser("list", parents=[common], help="list the project's suites")
    list_parser.set_defaults(handler=list_suites)


def push(args: argparse.Namespace, out: TextIO) -> int:
    """Create the suite if needed, upload the file, print suite, version, case count and created/existing."""
    path: Path = args.file
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise CliError(f"{path}: unknown file type; use one of {', '.join(sorted(CONTENT_TYPES))}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    with Api(resolve(args.base_url, args.api_key)) as api:
        project = api.project()
        if args.suite:
            suite, suite_created = api.call("GET", f"{project}/suites/{args.suite}"), False
        else:
            suite, suite_created = _find_or_create(api, project, args.name or path.stem)
        version = api.call(
            "POST", f"{project}/suites/{suite['id']}/versions", content=data, headers={"Content-Type": content_type}
        )
    print(f"suite:   {suite['id']} ({suite['name']}{', created' if suite_created else ''})", file=out)
    print(f"version: {version['version']} ({'created' if version['created'] else 'existing'})", file=out)
    print(f"cases:   {version['case_count']}", file=out)
    return 0


def list_suites(args: argparse.Namespace, out: TextIO) -> int:
    """One line per suite: id, versions, latest version, name."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        suites = list(_all_suites(api, api.project()))
    print(f"{'id':<24} {'versions':>8}  {'latest version':<16} name", file=out)
    for suite in suites:
        latest = (suite["latest_version"] or "-")[:12]
        print(f"{suite['id']:<24} {suite['version_count']:>8}  {latest:<16} {suite['name']}", file=out)
    return 0


def _all_suites(api: Api, project: str) -> Iterator[dict[str, Any]]:
    # The API pages its lists; a project can have more suites than one page holds.
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        page = api.call("GET", f"{project}/suites", params=params)
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _find_or_create(api: Api, project: str, name: str) -> tuple[dict[str, Any], bool]:
    # Names are not unique in the API; the first suite with the name is the one pushes go to.
    for suite in _all_suites(api, project):
        if suite["name"] == name:
            return suite, False
    created: dict[str, Any] = api.call("POST", f"{project}/suites", json={"name": name})
    return created, True
