"""`tokenroute routes decide|show`: ask for a route decision, read the current route of a task."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from shared.cli.client import Api
from shared.cli.config import resolve

_OBJECTIVES = ("maximize_quality", "minimize_cost", "minimize_latency")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `routes decide|show`."""
    routes = subparsers.add_parser("routes", help="route decisions: which model for which task, and why")
    commands = routes.add_subparsers(dest="routes_command", required=True, metavar="COMMAND")

    decide_parser = commands.add_parser(
        "decide",
        parents=[common],
        help="decide the route of a task from runs",
        description="Asks for a route decision over the given runs (or the runs of a time window) and prints "
        "the chosen target, the fallbacks, the confidence statement and the rationale.",
    )
    decide_parser.add_argument("task", help="the task key, e.g. support-triage")
    evidence = decide_parser.add_mutually_exclusive_group(required=True)
    evidence.add_argument("--run", dest="runs", action="append", metavar="RUN", help="an evidence run; repeat")
    evidence.add_argument("--since", metavar="ISO_TIME", help="the runs created from this time on (with --until)")
    decide_parser.add_argument("--until", metavar="ISO_TIME", help="end of the --since window (default: now)")
    decide_parser.add_argument("--objective", choices=_OBJECTIVES, default="maximize_quality")
    decide_parser.add_argument("--min-quality", type=float, metavar="RATE", help="minimum pass rate (lower bound)")
    decide_parser.add_argument("--max-p95-ms", type=float, metavar="MS", help="maximum p95 latency")
    decide_parser.add_argument("--max-cost-per-1k", metavar="USD", help="maximum cost per 1,000 requests")
    decide_parser.add_argument("--max-error-rate", type=float, metavar="RATE", help="maximum error rate")
    decide_parser.set_defaults(handler=decide)

    show_parser = commands.add_parser("show", parents=[common], help="the current route of a task (for gateways)")
    show_parser.add_argument("task")
    show_parser.set_defaults(handler=show)


def decide(args: argparse.Namespace, out: TextIO) -> int:
    """POST the decision request and print what was decided."""
    if args.runs:
        evidence: dict[str, Any] = {"runs": args.runs}
    else:
        evidence = {"window": {"start": args.since, "end": args.until or _now()}}
    constraints = {
        "min_quality": args.min_quality,
        "max_p95_latency_ms": args.max_p95_ms,
        "max_cost_per_1k_usd": args.max_cost_per_1k,
        "max_error_rate": args.max_error_rate,
    }
    body = {
        "task": args.task,
        "evidence": evidence,
        "objective": args.objective,
        "constraints": {key: value for key, value in constraints.items() if value is not None},
    }
    with Api(resolve(args.base_url, args.api_key)) as api:
        stored = api.call("POST", f"{api.project()}/route-decisions", json=body)
    decision = stored["decision"]
    print(f"Decision {stored['id']} for {decision['task']}: {decision['status']}", file=out)
    print(f"  chosen:    {decision['chosen'] or '(none)'}", file=out)
    print(f"  fallbacks: {', '.join(decision['fallbacks']) or '(none)'}", file=out)
    print(f"  expires:   {decision['expires_at']}", file=out)
    print(f"\n{decision['confidence_statement']}", file=out)
    print(f"{decision['rationale']}", file=out)
    needed = decision.get("cases_needed")
    if needed and needed.get("cases_missing"):
        print(f"\nAbout {needed['cases_missing']} more cases per target would settle it.", file=out)
    return 0


def show(args: argparse.Namespace, out: TextIO) -> int:
    """The current route: chosen target, fallbacks, and whether it is stale (expired or drifted)."""
    with Api(resolve(args.base_url, args.api_key)) as api:
        route = api.call("GET", f"{api.project()}/routes/{args.task}")
    chosen = route["chosen"]
    print(f"Route {route['task']} ({route['status']}, decision {route['decision_id']})", file=out)
    print(f"  chosen:    {chosen['target'] if chosen else '(none)'}", file=out)
    print(f"  fallbacks: {', '.join(t['target'] for t in route['fallbacks']) or '(none)'}", file=out)
    state = f"STALE ({route['stale_reason']}): decide again" if route["stale"] else "current"
    print(f"  decided {route['decided_at']}, expires {route['expires_at']}: {state}", file=out)
    return 0


def _now() -> str:
    return datetime.now(UTC).isoformat()
