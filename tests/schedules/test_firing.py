"""The every-minute timer's work on real storage: each due time starts one run, whatever the timer does."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from shared.ids import new_id
from shared.runs.launch import Launcher
from shared.schedules.firing import CLAIM_LEASE
from shared.schedules.models import FiringRecord, FiringStatus, ScheduleRecord, ScheduleUpdate, occurrence_key
from shared.schedules.store import firing_partition
from shared.services import Services
from tests.conftest import MovableClock
from tests.schedules.seed import finish, firings_of, move_past, new_project, new_schedule, reload, runs_of

HOUR = timedelta(hours=1)


def test_a_due_time_fired_twice_starts_one_run(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    due_at = schedule.next_due_at
    move_past(clock, schedule)

    # Two invocations at once (the timer fired twice, or two hosts), then a third one later.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: services.schedule_firer.fire_due(), range(2)))
    services.schedule_firer.fire_due()
    # And one that read the schedule before anyone moved it on (a host with a stale query page).
    again = services.schedule_firer.fire(schedule, clock.now())

    runs = runs_of(services, project, schedule.row_key)
    assert len(runs) == 1
    run = runs[0]
    assert (run.created_by, run.suite_id, run.version) == (schedule.row_key, project.suite_id, project.version)
    assert run.budget_usd == "5.00"
    firings = firings_of(services, project, schedule.row_key)
    assert [(f.row_key, f.status, f.run_id) for f in firings] == [
        (occurrence_key(due_at), FiringStatus.STARTED, run.row_key)
    ]
    assert again is not None
    assert again.run_id == run.row_key
    stored = reload(services, project, schedule.row_key)
    assert (stored.last_run_id, stored.last_fired_at, stored.last_outcome) == (
        run.row_key,
        due_at,
        FiringStatus.STARTED,
    )
    assert stored.next_due_at == due_at + HOUR


def test_a_late_timer_starts_one_run_for_the_missed_due_times(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    first = schedule.next_due_at
    # Down for four and a half hours: five due times passed.
    clock.current = first + timedelta(hours=4, minutes=30)
    services.schedule_firer.fire_due()

    runs = runs_of(services, project, schedule.row_key)
    assert len(runs) == 1
    firings = firings_of(services, project, schedule.row_key)
    assert [f.row_key for f in firings] == [occurrence_key(first + n * HOUR) for n in range(5)]
    assert [f.status for f in firings] == [FiringStatus.SKIPPED] * 4 + [FiringStatus.STARTED]
    assert all(f.reason is not None and f.reason.startswith("missed") for f in firings[:4])
    assert firings[-1].run_id == runs[0].row_key
    stored = reload(services, project, schedule.row_key)
    assert stored.last_fired_at == first + 4 * HOUR
    assert stored.next_due_at == first + 5 * HOUR


def test_a_schedule_whose_previous_run_is_still_going_is_skipped(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    move_past(clock, schedule)
    services.schedule_firer.fire_due()
    [first] = runs_of(services, project, schedule.row_key)  # queued: nobody works the queue here

    move_past(clock, reload(services, project, schedule.row_key))
    services.schedule_firer.fire_due()
    assert len(runs_of(services, project, schedule.row_key)) == 1
    skipped = firings_of(services, project, schedule.row_key)[-1]
    assert (skipped.status, skipped.reason, skipped.run_id) == (
        FiringStatus.SKIPPED,
        "previous run still going",
        None,
    )
    stored = reload(services, project, schedule.row_key)
    assert (stored.last_outcome, stored.last_outcome_reason) == (FiringStatus.SKIPPED, "previous run still going")
    assert stored.last_run_id == first.row_key

    finish(services, first)
    move_past(clock, stored)
    services.schedule_firer.fire_due()
    runs = runs_of(services, project, schedule.row_key)
    assert len(runs) == 2
    assert reload(services, project, schedule.row_key).last_run_id in {r.row_key for r in runs} - {first.row_key}


def test_paused_schedules_never_fire_and_resume_from_now(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project, paused=True)
    clock.current = schedule.next_due_at + 3 * HOUR
    services.schedule_firer.fire_due()
    assert runs_of(services, project, schedule.row_key) == []
    assert firings_of(services, project, schedule.row_key) == []

    resumed, fields = services.schedules.changed(schedule, ScheduleUpdate(paused=False), "user_seed")
    assert fields == ["paused"]
    services.schedules.save(resumed)
    assert resumed.next_due_at > clock.current  # the paused hours are not owed
    services.schedule_firer.fire_due()
    assert runs_of(services, project, schedule.row_key) == []

    move_past(clock, resumed)
    services.schedule_firer.fire_due()
    assert len(runs_of(services, project, schedule.row_key)) == 1
    assert [f.status for f in firings_of(services, project, schedule.row_key)] == [FiringStatus.STARTED]


def test_a_claim_left_by_a_crash_before_the_launch_ends_in_one_run(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    move_past(clock, schedule)
    # An invocation claimed the due time and died before starting the run.
    claim = _claim(services, schedule, clock)

    services.schedule_firer.fire_due()  # the claim is fresh: its holder may still be starting the run
    assert runs_of(services, project, schedule.row_key) == []

    clock.advance(CLAIM_LEASE)
    services.schedule_firer.fire_due()
    services.schedule_firer.fire_due()
    runs = runs_of(services, project, schedule.row_key)
    assert [r.row_key for r in runs] == [claim.run_id]
    [firing] = firings_of(services, project, schedule.row_key)
    assert (firing.status, firing.run_id) == (FiringStatus.STARTED, claim.run_id)
    assert reload(services, project, schedule.row_key).last_run_id == claim.run_id


def test_a_claim_left_by_a_crash_after_the_launch_starts_nothing_more(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    move_past(clock, schedule)
    claim = _claim(services, schedule, clock)
    # The run was started with the claimed id; the invocation died before recording it.
    launcher = Launcher(services.suites, services.credentials, services.runs, clock)
    launcher.start(
        project.tenant_id,
        project.project_id,
        schedule.run_request(),
        schedule.row_key,
        services.prices(project.tenant_id, project.project_id),
        run_id=claim.run_id,
        schedule_id=schedule.row_key,
    )

    clock.advance(CLAIM_LEASE)
    services.schedule_firer.fire_due()
    assert [r.row_key for r in runs_of(services, project, schedule.row_key)] == [claim.run_id]
    [firing] = firings_of(services, project, schedule.row_key)
    assert (firing.status, firing.run_id) == (FiringStatus.STARTED, claim.run_id)


def test_a_run_over_its_budget_is_refused_and_recorded(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project, budget="0.000001")
    due_at = schedule.next_due_at
    move_past(clock, schedule)
    services.schedule_firer.fire_due()

    assert runs_of(services, project, schedule.row_key) == []
    [firing] = firings_of(services, project, schedule.row_key)
    assert firing.status is FiringStatus.REFUSED
    assert firing.reason is not None
    assert "exceeds the budget 0.000001 USD" in firing.reason
    assert firing.estimate_usd is not None
    stored = reload(services, project, schedule.row_key)
    assert (stored.last_outcome, stored.last_outcome_reason) == (FiringStatus.REFUSED, firing.reason)
    assert stored.next_due_at == due_at + HOUR


def test_a_deleted_project_or_suite_starts_nothing(services: Services, clock: MovableClock) -> None:
    project = new_project(services)
    schedule = new_schedule(services, project)
    other = new_project(services)
    orphan = new_schedule(services, other)
    # Deleting a suite or project removes its row at once; the cascade removes the schedules later.
    services.suites.suites.delete(f"{project.tenant_id}~{project.project_id}", project.suite_id)
    services.projects.table.delete(other.tenant_id, other.project_id)
    move_past(clock, max(schedule, orphan, key=lambda s: s.next_due_at))
    services.schedule_firer.fire_due()

    for seeded, record, reason in (
        (project, schedule, "the suite version no longer exists"),
        (other, orphan, "the project was deleted"),
    ):
        assert runs_of(services, seeded, record.row_key) == []
        [firing] = firings_of(services, seeded, record.row_key)
        assert (firing.status, firing.reason) == (FiringStatus.FAILED, reason)


def _claim(services: Services, schedule: ScheduleRecord, clock: MovableClock) -> FiringRecord:
    """Insert a claim as a crashed invocation leaves it: claimed, with the run id it meant to use."""
    tenant_id, project_id = schedule.partition_key.split("~")
    now = clock.now()
    claim = FiringRecord(
        partition_key=firing_partition(tenant_id, project_id, schedule.row_key),
        row_key=occurrence_key(schedule.next_due_at),
        status=FiringStatus.CLAIMED,
        run_id=new_id("run"),
        claimed_at=now,
        updated_at=now,
    )
    services.schedules.firings.insert(claim)
    return claim
