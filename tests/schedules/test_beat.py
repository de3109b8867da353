"""Schedules fired by the real beat of the test worker, runs executed by the real worker."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from endpoints.models import PipelineEndpoint
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PublishedPipeline
from schedules.models import Schedule
from tests.fixtures.worker import wait_for, wait_for_run
from tests.pipelines.builders import make_snapshot, step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hello_endpoint(team, tmp_path):
    snapshot = make_snapshot(team.workspace, tmp_path, {"hello.py": "print('hello')\n"})
    graph = validate_graph({"steps": [step("hello", snapshot, "hello.py")]}, team.workspace)
    pipeline = Pipeline.objects.create(workspace=team.workspace, name="Hello", graph=graph)
    published = PublishedPipeline.publish_from(pipeline, name="Hello", by=team.admin)
    return PipelineEndpoint.publish(
        team.workspace, name="Hello", published=published, by=team.admin
    )


def test_an_every_minute_schedule_fires_runs_from_the_schedule(
    celery_worker, hello_endpoint, make_schedule
):
    # Its first slot is a couple of seconds away: beat (every second here) fires it.
    start = timezone.now().astimezone(UTC).replace(microsecond=0) + timedelta(seconds=2)
    schedule = make_schedule(hello_endpoint, StartTime=start.isoformat())
    firing = wait_for(schedule, lambda s: s.firings.exists(), 60, "a firing").firings.get()
    assert firing.slot == start and firing.run is not None
    run = wait_for_run(firing.run, {"Finished"}, timeout=90)
    assert run.run_source == "Schedule" and run.pipeline_endpoint == hello_endpoint


def test_beat_back_after_three_missed_slots_fires_the_latest_once(
    celery_worker, hello_endpoint, make_schedule
):
    schedule = make_schedule(hello_endpoint)
    # As if it had been made 3.5 minutes ago and beat had been down since: three slots
    # came due meanwhile (and the next one is half a minute away).
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=3, seconds=30)
    Schedule.objects.filter(pk=schedule.pk).update(
        start_time=start, fire_after=start - timedelta(seconds=1), next_fire_at=start
    )
    schedule = wait_for(schedule, lambda s: s.firings.exists(), 60, "a firing")
    latest = start + timedelta(minutes=3)
    assert [(f.slot, f.skip_reason) for f in schedule.firings.filter(slot__lte=latest)] == [
        (latest, "")
    ]
    wait_for_run(schedule.firings.get(slot=latest).run, {"Finished"}, timeout=90)


def test_a_disabled_pipelines_schedule_skips_and_records_it(
    celery_worker, hello_endpoint, make_schedule, team
):
    published = hello_endpoint.versions.get().published_pipeline
    published.disable(by=team.admin)
    start = timezone.now().astimezone(UTC).replace(microsecond=0) + timedelta(seconds=2)
    schedule = make_schedule(published, StartTime=start.isoformat())
    firing = wait_for(schedule, lambda s: s.firings.exists(), 60, "a firing").firings.get()
    assert firing.run is None and "is disabled" in firing.skip_reason
    assert not published.runs.exists()
