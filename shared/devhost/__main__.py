"""`python -m shared.devhost`: run a Function App locally, the way the Functions host runs it in Azure.

    python -m shared.devhost [--app function_app:app] [--port 7071] [--host-json host.json]
                             [--local-settings local.settings.json] [--grace-seconds 30]

Values from local.settings.json fill in environment variables that are not already set, before the
app module is imported. HTTP listens on 127.0.0.1 only. SIGINT/SIGTERM stop it cleanly (exit 0);
a second signal stops waiting for running functions.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.devhost.functions import HostError
from shared.devhost.host import Host, install_stop_signals, load_app
from shared.devhost.host_config import HostConfig, HostTuning
from shared.devhost.local_values import load_local_values

log = logging.getLogger("tokenroute.devhost")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m shared.devhost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the Function App")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port on 127.0.0.1 (default 7071)")
    parser.add_argument("--host-json", type=Path, default=Path("host.json"), help="host.json to read")
    parser.add_argument(
        "--local-settings", type=Path, default=Path("local.settings.json"), help="settings whose Values to load"
    )
    parser.add_argument(
        "--grace-seconds", type=float, default=None, help="how long shutdown waits for running functions"
    )
    return parser.parse_args(argv)


def _configure_logging() -> None:
    # The project's JSON logs; imported late so that TOKENROUTE_LOG_LEVEL from local settings applies.
    from shared.observability.logs import configure_logging

    configure_logging(os.environ.get("TOKENROUTE_LOG_LEVEL", "INFO").upper())


async def _serve(host: Host) -> None:
    stop, hurry = asyncio.Event(), asyncio.Event()
    install_stop_signals(stop, hurry)
    await host.serve(stop, hurry)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the host until a signal stops it; the exit status is 0 after a clean stop."""
    args = parse_args(argv)
    try:
        applied = load_local_values(args.local_settings)
        _configure_logging()
        if applied:
            log.info("loaded %d setting(s) from %s", len(applied), args.local_settings)
        config = HostConfig.load(args.host_json)
        tuning = HostTuning.from_environ(os.environ)
        if args.grace_seconds is not None:
            tuning = dataclasses.replace(tuning, grace_seconds=args.grace_seconds)
        app = load_app(args.app)
        host = Host(app, config, http_port=args.port, connection_lookup=os.environ, tuning=tuning)
        asyncio.run(_serve(host))
    except (HostError, ValueError) as error:
        _configure_logging()
        log.error("devhost cannot run: %s", error)
        return 1
    if host.abandoned_threads:
        # A sync function is still running in a thread that Python cannot stop, and interpreter exit
        # would wait for it; its queue message has already been made visible again.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
