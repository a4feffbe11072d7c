"""`python -m shared.cli` / `tokenroute`: the command-line client of the TokenRoute API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.cli.commands import exports, login, routes, runs, suites
from shared.cli.errors import EXIT_LOCAL, CliError


def _connection_options(default: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("connection (flag > environment > config file)")
    group.add_argument("--base-url", default=default, help="API base URL (TOKENROUTE_BASE_URL; default the local host)")
    group.add_argument("--api-key", default=default, help="project API key (TOKENROUTE_API_KEY)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    # The connection options are accepted before the command name and after it. The commands' copies
    # default to SUPPRESS so they never reset a value given before the command to None; they are
    # separate parsers because argparse shares action objects between a parent and its children.
    parser = argparse.ArgumentParser(
        prog="tokenroute",
        parents=[_connection_options(None)],
        description="Benchmark LLMs with TokenRoute: push suites, start runs, watch them, compare targets.",
        epilog="Exit codes: 0 ok, 1 local problem or a run that did not complete, 2 the API refused the request "
        "(4xx) or bad usage, 3 the API failed (5xx) or could not be reached.",
    )
    common = _connection_options(argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    login.register(subparsers, common)
    suites.register(subparsers, common)
    runs.register(subparsers, common)
    routes.register(subparsers, common)
    exports.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (errors go to stderr, never with the API key)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits on --help (0) and on usage errors (2); main returns codes instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_LOCAL
    try:
        code: int = args.handler(args, sys.stdout)
    except CliError as error:
        print(error.render(), file=sys.stderr)
        return error.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
