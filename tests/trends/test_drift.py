"""Drift detection on real Azurite: seeded runs rolled up by the real rollup, its hook judging each run."""

from __future__ import annotations

import pytest

from shared.ids import new_id
from shared.services import Services
from shared.trends.aggregate import MetricValue
from shared.trends.drift import MIN_BASELINE_N, RULES, shift
from shared.trends.drift_events import DriftEventRecord, DriftKind
from tests.conftest import MovableClock
from tests.routing.seed import SeedTarget, seed_run
from tests.trends.drift_seed import daily_runs, roll_up

MODEL = "gpt-4o-mini"


@pytest.fixture
def project(services: Services) -> tuple[str, str]:
    """A tenant and project of ids only (the rollup and drift need no project row)."""
    services.ensure_storage()
    return new_id("ten"), new_id("prj")


def _events(services: Services, tenant_id: str, project_id: str) -> list[DriftEventRecord]:
    page = services.drift.events.list(tenant_id, project_id, suite_id=None, kind=None, limit=200, cursor=None)
    assert page.next_cursor is None
    return page.items


def _baseline(services: Services, clock: MovableClock, project: tuple[str, str], suite: str) -> None:
    """Three days of runs passing 90, 92 and 88 of 100 cases."""
    targets = [[SeedTarget("openai", MODEL, passes=p)] for p in (90, 92, 88)]
    daily_runs(services, clock, *project, suite, targets)


def test_a_quality_drop_is_flagged_once_with_its_baseline(
    services: Services, clock: MovableClock, project: tuple[str, str]
) -> None:
    suite = new_id("ste")
    _baseline(services, clock, project, suite)
    assert _events(services, *project) == []  # the baseline days agree with each other

    dropped = seed_run(services, *project, [SeedTarget("openai", MODEL, passes=40)], suite_id=suite)
    report = roll_up(services, clock, *project, dropped)
    assert report.runs == 1

    events = _events(services, *project)
    assert {(e.kind, e.metric) for e in events} == {
        (DriftKind.QUALITY_DOWN, "quality"),
        (DriftKind.QUALITY_DOWN, "pass_rate"),
    }
    event = next(e for e in events if e.metric == "pass_rate")
    assert (event.run_id, event.suite_id, event.provider, event.model) == (dropped.row_key, suite, "openai", MODEL)
    assert event.target_key.startswith("openai.gpt-4o-mini.")
    assert event.baseline_value == pytest.approx(0.9)
    assert (event.baseline_n, event.baseline_runs, event.new_n) == (300, 3, 100)
    assert event.new_value == pytest.approx(0.4)
    assert event.new_high is not None
    assert event.baseline_low is not None
    assert event.new_high < event.baseline_low  # the intervals do not overlap
    assert event.confidence == 0.95

    # The same run rolled up again (a second completion, as after retry-errors) raises nothing new.
    roll_up(services, clock, *project, dropped)
    again = _events(services, *project)
    assert [(e.row_key, e.event_id, e.detected_at) for e in again] == [
        (e.row_key, e.event_id, e.detected_at) for e in events
    ]


def test_a_run_inside_the_noise_raises_nothing(
    services: Services, clock: MovableClock, project: tuple[str, str]
) -> None:
    suite = new_id("ste")
    _baseline(services, clock, project, suite)
    # 85 of 100: lower than every baseline day, but its interval overlaps the baseline's.
    noisy = seed_run(services, *project, [SeedTarget("openai", MODEL, passes=85, latency_ms=104)], suite_id=suite)
    roll_up(services, clock, *project, noisy)
    assert _events(services, *project) == []


def test_slower_and_pricier_runs_are_flagged(services: Services, clock: MovableClock, project: tuple[str, str]) -> None:
    suite = new_id("ste")
    _baseline(services, clock, project, suite)
    slow = SeedTarget("openai", MODEL, passes=90, latency_ms=300, cost_usd="0.002")
    roll_up(services, clock, *project, seed_run(services, *project, [slow], suite_id=suite))
    kinds = {(e.kind, e.metric) for e in _events(services, *project)}
    assert kinds == {(DriftKind.LATENCY_UP, "latency_p95"), (DriftKind.COST_CHANGED, "cost_per_case")}


def test_a_new_model_version_raises_an_event(services: Services, clock: MovableClock, project: tuple[str, str]) -> None:
    suite = new_id("ste")
    _baseline(services, clock, project, suite)
    updated = SeedTarget("openai", MODEL, passes=90, model_version="gpt-4o-mini-2026-11-01")
    run = seed_run(services, *project, [updated], suite_id=suite)
    roll_up(services, clock, *project, run)
    [event] = _events(services, *project)
    assert (event.kind, event.metric, event.run_id) == (DriftKind.NEW_MODEL_VERSION, "model_version", run.row_key)
    assert event.new_model_versions == ["gpt-4o-mini-2026-11-01"]
    assert (event.baseline_n, event.new_n, event.new_value) == (300, 100, None)


def test_a_thin_baseline_judges_nothing(services: Services, clock: MovableClock, project: tuple[str, str]) -> None:
    suite = new_id("ste")
    # One earlier run is not a baseline, however different the next run is.
    daily_runs(services, clock, *project, suite, [[SeedTarget("openai", MODEL, passes=95)]])
    run = seed_run(services, *project, [SeedTarget("openai", MODEL, passes=10, model_version="v2")], suite_id=suite)
    roll_up(services, clock, *project, run)
    assert _events(services, *project) == []


def test_other_suites_and_targets_are_not_a_baseline(
    services: Services, clock: MovableClock, project: tuple[str, str]
) -> None:
    suite, other = new_id("ste"), new_id("ste")
    _baseline(services, clock, project, suite)
    # Another suite's run of the model, and the same suite's run of another model: no baseline of their own.
    strangers = ((SeedTarget("openai", MODEL, passes=10), other), (SeedTarget("openai", "o3", passes=10), suite))
    for target, in_suite in strangers:
        roll_up(services, clock, *project, seed_run(services, *project, [target], suite_id=in_suite))
    assert _events(services, *project) == []


def test_a_trivial_shift_on_a_huge_baseline_is_not_drift() -> None:
    pass_rate = next(rule for rule in RULES if rule.metric == "pass_rate")
    # Disjoint intervals, but 3 points apart: below the 5-point minimum change.
    baseline = MetricValue(0.90, 0.899, 0.901, 100_000)
    assert shift(pass_rate, baseline, MetricValue(0.87, 0.86, 0.88, 5000)) is None
    assert shift(pass_rate, baseline, MetricValue(0.80, 0.79, 0.81, 5000)) is DriftKind.QUALITY_DOWN
    assert shift(pass_rate, baseline, MetricValue(0.97, 0.96, 0.98, 5000)) is DriftKind.QUALITY_UP
    # Too few samples on either side: not judged.
    assert shift(pass_rate, MetricValue(0.9, 0.85, 0.95, MIN_BASELINE_N - 1), MetricValue(0.1, 0.0, 0.2, 50)) is None
    latency = next(rule for rule in RULES if rule.metric == "latency_p95")
    # Latency only drifts upward.
    assert shift(latency, MetricValue(500, 490, 510, 1000), MetricValue(200, 190, 210, 100)) is None
