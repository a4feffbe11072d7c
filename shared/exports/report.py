"""report.html: a self-contained page for people (inline CSS and SVG, no script, no network).

Per run: a leaderboard with pass-rate intervals drawn as bars, quality against cost per request with
the Pareto frontier, and the latency distribution per target. Per decision: the choice, its rationale
and its confidence statement. Every value that came from a tenant is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any

from shared.exports.content import RunFacts
from shared.routing.models import Decision
from shared.stats.summary import TargetSummary

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:60rem;
color:#1d2330;padding:0 1rem}h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #d5d9e0}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #e6e8ec;font-variant-numeric:tabular-nums}svg{display:block;margin:1rem 0}
.muted{color:#5b6475}.box{background:#f5f7fa;border-radius:6px;padding:1rem}
"""
_PALETTE = ("#2f6fde", "#d9534f", "#2e9e5b", "#e0a100", "#7d4cc2", "#17a2b8", "#8a5a44", "#c2185b")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(summary: TargetSummary) -> str:
    rate = summary.pass_rate
    if rate is None:
        return "—"
    return f"{rate.value:.1%} [{rate.low:.1%}, {rate.high:.1%}]"


def _cost(summary: TargetSummary) -> float | None:
    return None if summary.cost_per_case is None else float(summary.cost_per_case)


def leaderboard(facts: RunFacts) -> str:
    """A table ordered by pass rate, and a chart of each pass rate with its interval."""
    ranked = sorted(
        facts.summaries.items(),
        key=lambda item: -(item[1].pass_rate.value if item[1].pass_rate else -1.0),
    )
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{escape(facts.labels.get(key, key))}</td><td>{_pct(s)}</td>"
        f"<td>{_fmt(s.mean_score.value if s.mean_score else None)}</td><td>{s.n}</td><td>{s.errors}</td>"
        f"<td>{_fmt(s.latency_p50_ms, 0)}</td><td>{_fmt(s.latency_p95_ms, 0)}</td>"
        f"<td>{'—' if s.cost_per_case is None else f'${s.cost_per_case:.6f}'}</td></tr>"
        for i, (key, s) in enumerate(ranked)
    )
    table = (
        "<table><thead><tr><th>#</th><th>target</th><th>pass rate [95% interval]</th><th>mean score</th>"
        "<th>n</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>cost per case</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return table + _interval_chart([(facts.labels.get(k, k), s) for k, s in ranked])


def _interval_chart(items: list[tuple[str, TargetSummary]]) -> str:
    width, left, row = 640, 200, 28
    height = row * len(items) + 30
    scale = width - left - 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append("<title>Pass rate with its 95% interval</title>")
    for tick in range(0, 101, 25):
        x = left + scale * tick / 100
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 20}" stroke="#e6e8ec"/>')
        parts.append(f'<text x="{x}" y="{height - 5}" font-size="11" text-anchor="middle">{tick}%</text>')
    for i, (label, summary) in enumerate(items):
        y = i * row + 16
        parts.append(f'<text x="{left - 8}" y="{y + 4}" font-size="12" text-anchor="end">{escape(label[:28])}</text>')
        rate = summary.pass_rate
        if rate is None:
            continue
        color = _PALETTE[i % len(_PALETTE)]
        x1, x2, xv = (left + scale * v for v in (rate.low, rate.high, rate.value))
        parts.append(f'<line x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" stroke="{color}" stroke-width="4"/>')
        parts.append(f'<circle cx="{xv:.1f}" cy="{y}" r="5" fill="{color}"/>')
    parts.append("</svg>")
    return "".join(parts)


def pareto(points: list[tuple[str, float, float]]) -> list[str]:
    """Names on the frontier of (quality up, cost down): no other point is at least as good in both."""
    frontier = []
    for name, quality, cost in points:
        dominated = any(
            (q >= quality and c <= cost) and (q > quality or c < cost) for other, q, c in points if other != name
        )
        if not dominated:
            frontier.append(name)
    return frontier


def scatter(facts: RunFacts) -> str:
    """Pass rate against cost per case; the Pareto frontier is joined by a line."""
    points = [
        (facts.labels.get(key, key), s.pass_rate.value, cost)
        for key, s in facts.summaries.items()
        if s.pass_rate is not None and (cost := _cost(s)) is not None
    ]
    if not points:
        return '<p class="muted">No priced, scored target: no quality-against-cost chart.</p>'
    width, height, pad = 640, 360, 50
    top = max(c for _, _, c in points) or 1.0

    def xy(quality: float, cost: float) -> tuple[float, float]:
        return pad + (width - 2 * pad) * cost / top, height - pad - (height - 2 * pad) * quality

    frontier = set(pareto(points))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append("<title>Quality against cost, Pareto frontier</title>")
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#5b6475"/>')
    parts.append(f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#5b6475"/>')
    parts.append(
        f'<text x="{width / 2}" y="{height - 12}" font-size="12" text-anchor="middle">cost per case (USD, 0 to '
        f"{top:.6f})</text>"
    )
    parts.append(
        f'<text x="14" y="{height / 2}" font-size="12" transform="rotate(-90 14 {height / 2})">pass rate</text>'
    )
    line = sorted((xy(q, c) for name, q, c in points if name in frontier), key=lambda p: p[0])
    if len(line) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2e9e5b" stroke-dasharray="6 4"/>')
    for name, quality, cost in points:
        x, y = xy(quality, cost)
        fill = "#2e9e5b" if name in frontier else "#5b6475"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}"><title>{escape(name)}</title></circle>')
        parts.append(f'<text x="{x + 8:.1f}" y="{y - 8:.1f}" font-size="11">{escape(name[:24])}</text>')
    parts.append("</svg>")
    legend = ", ".join(escape(name) for name in sorted(frontier))
    return "".join(parts) + f'<p class="muted">Pareto frontier (green): {legend}.</p>'


def latency(facts: RunFacts) -> str:
    """One small histogram of latencies per target."""
    charts = []
    for i, (key, hist) in enumerate(facts.histograms.items()):
        counts: list[int] = hist["counts"]
        label = escape(facts.labels.get(key, key))
        if not counts:
            charts.append(f"<p>{label}: no timings.</p>")
            continue
        width, height, pad = 300, 120, 20
        bar = (width - 2 * pad) / len(counts)
        peak = max(counts) or 1
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
        parts.append(f"<title>Latency of {label}</title>")
        for j, count in enumerate(counts):
            h = (height - 2 * pad) * count / peak
            parts.append(
                f'<rect x="{pad + j * bar:.1f}" y="{height - pad - h:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{_PALETTE[i % len(_PALETTE)]}"/>'
            )
        parts.append(
            f'<text x="{pad}" y="{height - 4}" font-size="10">{hist["low"]:.0f} ms</text>'
            f'<text x="{width - pad}" y="{height - 4}" font-size="10" text-anchor="end">{hist["high"]:.0f} ms</text>'
        )
        parts.append("</svg>")
        charts.append(f"<figure><figcaption>{label}</figcaption>{''.join(parts)}</figure>")
    return "".join(charts)


def trends(runs: list[RunFacts]) -> str:
    """Pass rate per target (by display name) across runs in time order; empty with fewer than two runs."""
    ordered = sorted(runs, key=lambda facts: facts.run.created_at)
    if len(ordered) < 2:
        return ""
    series: dict[str, list[tuple[int, float]]] = {}
    for index, facts in enumerate(ordered):
        for key, summary in facts.summaries.items():
            if summary.pass_rate is not None:
                series.setdefault(facts.labels.get(key, key), []).append((index, summary.pass_rate.value))
    width, height, pad = 640, 260, 40
    step = (width - 2 * pad) / (len(ordered) - 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append("<title>Pass rate across runs</title>")
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#5b6475"/>')
    legend = []
    for i, (name, points) in enumerate(sorted(series.items())):
        color = _PALETTE[i % len(_PALETTE)]
        coords = " ".join(f"{pad + step * x:.1f},{height - pad - (height - 2 * pad) * y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        legend.append(f'<span style="color:{color}">■</span> {escape(name)}')
    parts.append("</svg>")
    return "<h2>Trends</h2>" + "".join(parts) + f'<p class="muted">{" · ".join(legend)} (oldest run left).</p>'


def decision_section(decision: Decision) -> str:
    """The decision, its fallbacks, rationale and confidence statement."""
    chosen = escape(decision.chosen or "none (insufficient evidence)")
    fallbacks = ", ".join(escape(f) for f in decision.fallbacks) or "none"
    return (
        f'<h2>Decision for task “{escape(decision.task)}”</h2><div class="box">'
        f"<p><strong>Chosen:</strong> {chosen} · status {escape(decision.status.value)} · objective "
        f"{escape(decision.objective.value)}</p><p><strong>Fallbacks:</strong> {fallbacks}</p>"
        f"<p><strong>Rationale:</strong> {escape(decision.rationale)}</p>"
        f"<p><strong>Confidence:</strong> {escape(decision.confidence_statement)}</p>"
        f'<p class="muted">Decided {decision.decided_at.isoformat()}, evidence: '
        f"{', '.join(escape(r.run_id) for r in decision.evidence.runs)}</p></div>"
    )


def render(title: str, created_at: datetime, runs: Iterable[RunFacts], decisions: Iterable[Decision]) -> bytes:
    """The whole page."""
    body: list[str] = [f'<h1>{escape(title)}</h1><p class="muted">Benchmark pack created {created_at.isoformat()}.</p>']
    body.extend(decision_section(d) for d in decisions)
    runs = list(runs)
    body.append(trends(runs))
    for facts in runs:
        run: Any = facts.run
        body.append(
            f'<h2>Run {escape(run.row_key)}</h2><p class="muted">Suite {escape(run.suite_id)} version '
            f"{escape(run.version[:12])}…, status {escape(run.status.value)}, {facts.lines} results, prices "
            f"{escape(run.price_version)}.</p>"
        )
        body.append("<h3>Leaderboard</h3>" + leaderboard(facts))
        body.append("<h3>Quality against cost</h3>" + scatter(facts))
        body.append("<h3>Latency distribution</h3>" + latency(facts))
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    return page.encode()
