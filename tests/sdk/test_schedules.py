"""Schedules with the SDK against a live server, a real beat and a real worker."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.sdk import BadRequestError, PipelineEndpoint, Schedule, ScheduleRecurrence
from schedules.firing import fire_due
from schedules.models import Schedule as ScheduleRow
from studio.models import Role
from tests.fixtures.sdk import echo_pipeline, value_seen

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_schedule_an_endpoint_wait_for_its_run_then_disable_it(
    celery_worker, sdk_workspace, step_source, tmp_path
):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    published = echo_pipeline(ws, step_source).publish(name="Echo", version="1")
    endpoint = PipelineEndpoint.publish(ws, "Echo endpoint", "echoes", published)
    # The first slot is a few seconds away; then every minute.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    schedule = Schedule.create(
        ws,
        name="Every minute",
        pipeline_endpoint_id=endpoint.id,
        experiment_name="Scheduled_echo",
        recurrence=ScheduleRecurrence(frequency="Minute", interval=1, start_time=start),
        pipeline_parameters={"pipeline_arg": 42},
        description="a test schedule",
    )
    assert schedule.status == "Active" and schedule.next_fire_times[0] == start
    assert [s.id for s in Schedule.list(ws)] == [schedule.id]

    deadline = time.monotonic() + 60
    while (run := schedule.get_last_pipeline_run()) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run is not None, "the schedule did not fire within 60 s"
    assert value_seen(run, tmp_path) == "42"
    assert run.get_details()["RunSource"] == "Schedule"
    assert [r.id for r in schedule.get_pipeline_runs()] == [run.id]

    schedule.disable()
    assert schedule.status == "Paused" and schedule.next_fire_times == []
    assert Schedule.list(ws) == [] and len(Schedule.get_all(ws, active_only=False)) == 1
    # Paused: even an hour of slots later nothing fires.
    fire_due(now=datetime.now(UTC) + timedelta(hours=1))
    assert [r.id for r in schedule.get_pipeline_runs()] == [run.id]
    assert ScheduleRow.objects.get(pk=int(schedule.id)).firings.count() == 1


def test_bad_schedules_are_refused_naming_the_field(sdk_workspace, studio):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    with pytest.raises(BadRequestError) as caught:
        Schedule.create(
            ws,
            name="Bad",
            pipeline_id=studio.published.pk,
            experiment_name="x",
            recurrence=ScheduleRecurrence("Day", 1, time_zone="Nowhere/City"),
        )
    assert caught.value.details[0]["field"] == "TimeZone"
    with pytest.raises(BadRequestError) as caught:
        Schedule.create(
            ws, name="Bad", pipeline_id=studio.published.pk, experiment_name="x", cron="0 25 * * *"
        )
    assert caught.value.details[0]["field"] == "Cron"
    assert not ScheduleRow.objects.exists()


def test_update_and_time_of_day(sdk_workspace, studio):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    schedule = Schedule.create(
        ws,
        name="Nightly",
        pipeline_id=studio.published.pk,
        experiment_name="Nightly",
        recurrence=ScheduleRecurrence("Day", 1, time_zone="Asia/Kolkata", time_of_day="02:30"),
    )
    assert {(t.hour, t.minute) for t in schedule.next_fire_times} == {(21, 0)}  # 02:30 IST
    schedule.update(cron="0 6 * * *", time_zone="UTC", status="Paused")
    again = Schedule.get(ws, schedule.id)
    assert again.cron == "0 6 * * *" and again.recurrence is None and again.status == "Paused"
