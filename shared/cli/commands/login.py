"""`tokenroute login`: check an API key against `GET /me` and store it with the base URL."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.config import ENV_API_KEY, Credentials, resolve_base_url, write_config
from shared.cli.errors import CliError
from shared.cli.output import mask_key


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `login`."""
    parser = subparsers.add_parser(
        "login",
        parents=[common],
        help="check an API key and store it with the base URL",
        description="Checks the key with GET /api/v1/me, then stores the base URL and key in the config file "
        "($TOKENROUTE_CONFIG or ~/.config/tokenroute/config.json, mode 0600). "
        "`--api-key -` reads the key from stdin, which keeps it out of the shell history.",
    )
    parser.set_defaults(handler=login)


def login(args: argparse.Namespace, out: TextIO) -> int:
    """Verify the key, then save it; the key is shown masked only."""
    base_url = resolve_base_url(args.base_url)
    key = args.api_key or os.environ.get(ENV_API_KEY)
    if key == "-":
        key = sys.stdin.readline().strip()
    if not key:
        raise CliError(f"login needs --api-key trk_... (or {ENV_API_KEY})")
    with Api(Credentials(base_url=base_url, api_key=key)) as api:
        me = api.me()
    if not me.get("project_id"):
        raise CliError("this credential has no project: sign in with a project API key (trk_...)")
    path = write_config(base_url, key)
    print(f"Signed in to {base_url} with key {mask_key(key)}", file=out)
    print(f"  project {me['project_id']} (tenant {me['tenant_id']}), scopes: {', '.join(me['scopes'])}", file=out)
    print(f"  saved to {path} (readable by you only)", file=out)
    return 0
