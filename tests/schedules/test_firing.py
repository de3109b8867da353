"""Due slots become runs: one per slot, the latest after an outage, skips recorded."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from schedules.firing import fire_due
from schedules.models import ScheduleFiring
from studio.models import AuditEvent


def after(schedule, minutes, seconds=5):
    """An instant ``minutes`` slots after the schedule's start (plus a few seconds)."""
    return schedule.start_time + timedelta(minutes=minutes, seconds=seconds)


def test_a_due_slot_starts_one_run_from_the_schedule(studio, make_schedule):
    schedule = make_schedule(studio.endpoint, ParameterAssignments={"epochs": 3})
    assert fire_due(now=schedule.start_time - timedelta(seconds=1)) == 0  # not yet due
    assert fire_due(now=after(schedule, 0)) == 1
    firing = schedule.firings.get()
    assert firing.slot == schedule.start_time and firing.skip_reason == ""
    run = firing.run
    assert run.run_source == "Schedule" and run.schedule_firing.schedule == schedule
    assert run.pipeline_endpoint == studio.endpoint and run.endpoint_version == "0"
    assert run.experiment.name == "Scheduled" and run.parameters["epochs"] == 3
    # Firing again at the same moment finds the slot taken.
    assert fire_due(now=after(schedule, 0)) == 0
    assert schedule.firings.count() == 1


def test_after_three_missed_slots_only_the_latest_fires(studio, make_schedule):
    schedule = make_schedule(studio.published)
    assert fire_due(now=after(schedule, 3)) == 1
    assert [f.slot for f in schedule.firings.all()] == [schedule.start_time + timedelta(minutes=3)]
    assert schedule.firings.get().run.run_source == "Schedule"
    schedule.refresh_from_db()
    assert schedule.next_fire_at == schedule.start_time + timedelta(minutes=4)


def test_catch_up_none_records_the_missed_slot_and_starts_nothing(studio, make_schedule):
    hourly = {"Frequency": "Hour", "Interval": 1}
    schedule = make_schedule(studio.published, CatchUp="none", Recurrence=hourly)
    assert fire_due(now=after(schedule, 3 * 60 + 10)) == 1
    firing = schedule.firings.get()
    assert firing.run is None and firing.skip_reason.startswith("Missed")
    # On time, the next slot runs.
    fire_due(now=after(schedule, 4 * 60, seconds=2))
    assert schedule.firings.get(slot=after(schedule, 4 * 60, 0)).run.run_source == "Schedule"


def test_a_disabled_target_skips_with_the_reason_and_resumes_when_enabled(
    studio, make_schedule, team
):
    schedule = make_schedule(studio.published)
    studio.published.disable(by=team.admin)
    fire_due(now=after(schedule, 0))
    skipped = schedule.firings.get()
    assert skipped.run is None and "is disabled" in skipped.skip_reason
    studio.published.enable(by=team.admin)
    fire_due(now=after(schedule, 1))
    assert schedule.firings.get(slot=after(schedule, 1, 0)).run.run_source == "Schedule"


def test_a_disabled_endpoint_skips_too(studio, make_schedule, team):
    schedule = make_schedule(studio.endpoint)
    studio.endpoint.disable(by=team.admin)
    fire_due(now=after(schedule, 0))
    assert "disabled" in schedule.firings.get().skip_reason


def test_paused_schedules_do_not_fire_and_resume_from_now(studio, make_schedule, team):
    schedule = make_schedule(studio.published)
    schedule.pause(by=team.contributor)
    assert fire_due(now=after(schedule, 2)) == 0
    assert schedule.next_fire_times() == []
    schedule.resume(by=team.contributor)
    # Slots passed while paused never fire; the next one does.
    assert schedule.next_fire_times(1)[0] > schedule.fire_after
    actions = list(
        AuditEvent.objects.filter(object_type="Schedule").values_list("action", flat=True)
    )
    assert sorted(actions) == ["schedule.created", "schedule.paused", "schedule.resumed"]


def test_the_database_allows_one_firing_per_slot(studio, make_schedule):
    schedule = make_schedule(studio.published)
    ScheduleFiring.objects.create(schedule=schedule, slot=schedule.start_time)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleFiring.objects.create(schedule=schedule, slot=schedule.start_time)


@pytest.mark.django_db(transaction=True)
def test_two_firing_passes_at_once_start_one_run_per_slot(studio, make_schedule):
    schedules = [make_schedule(studio.published, Name=f"Concurrent {n}") for n in range(3)]
    now = after(schedules[0], 2)
    barrier = threading.Barrier(4)
    errors = []

    def beat():
        try:
            barrier.wait()
            fire_due(now=now)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for schedule in schedules:
        firings = list(schedule.firings.all())
        assert len(firings) == 1 and firings[0].run is not None
    assert studio.published.runs.filter(run_source="Schedule").count() == 3
