"""Schedules fired by the real beat of the test worker, runs executed by the real worker."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from endpoints.models import PipelineEndpoint
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PublishedPipeline
from schedules.models import Schedule
from tests.fixtures.worker import wait_for, wait_for_run, worker_environment
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


class Beat:
    """A second, standalone ``celery -A studio beat`` beside the test worker's own."""

    SENT = "Sending due task fire-due-schedules"

    def __init__(self, tmp_path: Path):
        self.log_path = tmp_path / "second-beat.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "studio", "beat"]
                + ["-s", str(tmp_path / "second-beat-schedule"), "--loglevel", "INFO"],
                cwd=settings.BASE_DIR,
                env=worker_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def sends(self) -> int:
        """How many times this beat has sent the schedules' firing task so far."""
        return self.log_path.read_text(errors="replace").count(self.SENT)

    def wait_sends(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.sends() < count:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the second beat sent nothing"
            time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def test_two_beats_at_once_fire_one_run_per_slot(
    celery_worker, worker_factory, hello_endpoint, make_schedule, tmp_path
):
    # A second worker on the control queue, so the two beats' firing tasks can run at the
    # same moment in different processes.
    worker_factory("studio", concurrency=2)
    beat = Beat(tmp_path)
    try:
        beat.wait_sends(1)
        start = timezone.now().astimezone(UTC).replace(microsecond=0) + timedelta(seconds=3)
        schedule = make_schedule(hello_endpoint, StartTime=start.isoformat())
        firing = wait_for(schedule, lambda s: s.firings.exists(), 60, "a firing").firings.get()
        # Both beats go on asking for due slots well after this one was fired.
        beat.wait_sends(beat.sends() + 3)
    finally:
        beat.stop()
    assert [f.slot for f in schedule.firings.all()] == [start]
    assert firing.run is not None
    assert list(hello_endpoint.runs.values_list("pk", flat=True)) == [firing.run_id]
    wait_for_run(firing.run, {"Finished"}, timeout=90)
