"""Plain-text output shared by the CLI and the demo: progress bar, leaderboard, ranking, masking.

Text only (no colours, no terminal library), so the output reads the same in a terminal, a CI
log and a test's captured stdout.
"""

from __future__ import annotations

from typing import Any, TextIO


def progress_bar(done: int, total: int, errors: int, width: int = 30) -> str:
    """`[#########.....]  42/105 items, 1 error`."""
    filled = width * done // total if total else width
    errors_text = f", {errors} error{'s' if errors != 1 else ''}" if errors else ""
    return f"  [{'#' * filled}{'.' * (width - filled)}] {done:>4}/{total} items{errors_text}"


def ranking(summary: dict[str, Any]) -> list[str]:
    """Target ids, best pass rate first (then lower latency)."""

    def key(target: str) -> tuple[float, float]:
        stats = summary["targets"][target]
        rate = stats["pass_rate"]["value"] if stats["pass_rate"] else -1.0
        return (-rate, stats["latency_p50_ms"] or float("inf"))

    return sorted(summary["targets"], key=key)


def leaderboard(summary: dict[str, Any]) -> str:
    """A plain-text table: pass rate with its 95% interval, mean score, latency, cost, errors."""
    header = (
        f"{'target':<34} {'pass rate (95% CI)':<22} {'score':>6} {'p50 ms':>8} {'p95 ms':>8} {'$/case':>10} "
        f"{'errors':>7}"
    )
    lines = ["", "Leaderboard", header, "-" * len(header)]
    for target in ranking(summary):
        s = summary["targets"][target]
        rate = s["pass_rate"]
        rate_text = f"{rate['value']:.0%} ({rate['low']:.0%}-{rate['high']:.0%})" if rate else "-"
        score = f"{s['mean_score']['value']:.2f}" if s["mean_score"] else "-"
        p50 = f"{s['latency_p50_ms']:.0f}" if s["latency_p50_ms"] is not None else "-"
        p95 = f"{s['latency_p95_ms']:.0f}" if s["latency_p95_ms"] is not None else "-"
        cost = f"{float(s['cost_per_case']):.6f}" if s["cost_per_case"] is not None else "unpriced"
        label = summary["labels"].get(target, target)[:34]
        lines.append(f"{label:<34} {rate_text:<22} {score:>6} {p50:>8} {p95:>8} {cost:>10} {s['errors']:>7}")
    return "\n".join(lines)


def mask_key(key: str) -> str:
    """`trk_…abcd`: enough to tell keys apart, never enough to use one."""
    if len(key) < 16:
        # A short value is probably not a real key; showing 4 characters of it would show too much.
        return "…"
    prefix = "trk_" if key.startswith("trk_") else ""
    return f"{prefix}…{key[-4:]}"


class ProgressPrinter:
    """Prints a progress bar as a run advances.

    On a terminal the bar redraws in place (`\\r`); elsewhere (CI logs, pipes) a line is written only
    when the bar changes, so a long run does not flood the log.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last: str | None = None

    def update(self, done: int, total: int, errors: int) -> None:
        """Show the current state."""
        bar = progress_bar(done, total, errors)
        if bar == self.last:
            return
        self.last = bar
        if self.tty:
            print("\r" + bar, end="", file=self.out, flush=True)
        else:
            print(bar, file=self.out, flush=True)

    def finish(self) -> None:
        """End the in-place line on a terminal."""
        if self.tty and self.last is not None:
            print(file=self.out, flush=True)
