"""No run lost or stuck: a killed worker, a broker that is down, a redelivered message."""

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from pipelines.broker import RUN_STEP_TASK
from pipelines.engine import resend_stale_steps
from pipelines.graph import validate_graph
from pipelines.models import Experiment, PipelineRun, RunStatus, StepRun
from pipelines.scheduler import MAX_ATTEMPTS, claim_step, reap_lost_steps
from studio.celery import app
from tests.fixtures.worker import wait_for, wait_for_run, worker_environment
from tests.pipelines.builders import make_snapshot, process_gone, step, submit

SCRIPTS = {
    "slow.py": """
        import os, pathlib, sys, time
        print("started", os.getpid(), flush=True)
        time.sleep(3)
        (pathlib.Path(sys.argv[1]) / "done.txt").write_text("done")
    """,
    "once.py": """
        from pipelines.sdk import Run
        Run.get_context().log("ran", 1)
    """,
}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, SCRIPTS)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_step_of_a_killed_worker_is_retried_on_a_live_one(
    celery_worker, worker_factory, crew, snap
):
    doomed = worker_factory("gpu")
    run = submit(
        crew, [step("slow", snap, "slow.py", [{"data": "o"}], outputs=["o"], compute_target="gpu")]
    )
    slow = run.steps.get()
    wait_for(slow, lambda s: "started" in s.log, timeout=30, what="the step to start")
    assert slow.worker.startswith(doomed.name) and slow.status == RunStatus.RUNNING
    doomed.kill()
    assert process_gone(int(slow.log.split("started ")[1].split()[0]), timeout=30)  # no orphan
    wait_for(slow, lambda s: s.status == RunStatus.QUEUED, timeout=30, what="the reaper")
    assert slow.attempts == 1 and "lost: no heartbeat" in slow.log
    rescuer = worker_factory("gpu")
    wait_for_run(run, timeout=60)
    slow.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert slow.attempts == 2 and slow.worker.startswith(rescuer.name)
    assert slow.outputs["o"]["files"] == ["done.txt"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_submit_while_the_broker_is_down_is_sent_once_it_is_back(
    celery_worker, crew, snap, settings
):
    reachable = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    run = submit(crew, [step("once", snap, "once.py")])  # kept, not refused
    run.refresh_from_db()
    assert run.status == RunStatus.NOT_STARTED and run.dispatched_at is None
    settings.CELERY_BROKER_URL = reachable
    wait_for_run(run, timeout=30)  # the dispatcher on the beat schedule sends it
    assert run.status == RunStatus.FINISHED and run.dispatched_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_redelivered_step_message_does_not_run_the_step_twice(celery_worker, crew, snap):
    run = submit(crew, [step("once", snap, "once.py")])
    wait_for_run(run, timeout=30)
    once = run.steps.get()
    log_before = once.log
    duplicate = app.send_task(RUN_STEP_TASK, args=[once.pk, 1], queue="cpu")
    deadline = time.monotonic() + 30
    while f"run_step[{duplicate.id}] succeeded" not in celery_worker.log():
        assert time.monotonic() < deadline, "the worker never took the duplicate"
        time.sleep(0.2)
    once.refresh_from_db()
    assert once.attempts == 1 and once.log == log_before
    assert run.metrics.filter(name="ran").count() == 1


def lost_step(crew, attempts: int) -> StepRun:
    experiment = Experiment.objects.create(workspace=crew.workspace, name="Lost")
    graph = {
        "parameters": [],
        "steps": [{"name": "s", "inputs": [], "outputs": [], "run_after": []}],
    }
    run = PipelineRun.objects.create(
        workspace=crew.workspace, experiment=experiment, graph=graph, status=RunStatus.RUNNING
    )
    return StepRun.objects.create(
        run=run,
        name="s",
        status=RunStatus.RUNNING,
        attempts=attempts,
        worker="gone@host",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )


@pytest.mark.django_db
def test_lost_step_is_queued_again_once(crew):
    step_run = lost_step(crew, attempts=1)
    assert reap_lost_steps() == 1
    step_run.refresh_from_db()
    assert step_run.status == RunStatus.QUEUED and "worker gone@host lost" in step_run.log


@pytest.mark.django_db
def test_step_lost_again_fails_with_worker_lost(crew):
    step_run = lost_step(crew, attempts=MAX_ATTEMPTS)
    reap_lost_steps()
    step_run.refresh_from_db()
    step_run.run.refresh_from_db()
    assert step_run.status == RunStatus.FAILED and step_run.failure_reason == "worker lost"
    assert step_run.run.status == RunStatus.FAILED
    assert "worker lost" in step_run.run.error


@pytest.mark.django_db
def test_a_step_attempt_is_claimed_once(crew):
    step_run = lost_step(crew, attempts=0)
    StepRun.objects.filter(pk=step_run.pk).update(status=RunStatus.QUEUED)
    assert claim_step(step_run, 1, "w1", ["s.py"])
    assert not claim_step(StepRun.objects.get(pk=step_run.pk), 1, "w2", ["s.py"])
    step_run.refresh_from_db()
    assert step_run.worker == "w1" and step_run.attempts == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_queued_step_whose_message_was_lost_is_sent_again(
    celery_worker, worker_factory, crew, snap
):
    run = submit(crew, [step("once", snap, "once.py", compute_target="gpu")])
    queued = run.steps.get()
    assert queued.status == RunStatus.QUEUED
    assert resend_stale_steps() == 0  # a freshly queued step keeps its one message
    # The message vanishes, as when the web process dies between commit and publish.
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("gpu")
    # Long enough ago that the dispatcher on the test worker's beat sends it again.
    StepRun.objects.filter(pk=queued.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    worker_factory("gpu")
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FINISHED
    assert run.metrics.filter(name="ran").count() == 1


# A web process that commits a submit and dies before its broker publish.
SUBMIT_AND_DIE = """
import json, os, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import transaction
from pipelines.engine import submit_run
from studio.models import Workspace
workspace = Workspace.objects.get(pk=sys.argv[1])
user = get_user_model().objects.get(pk=sys.argv[2])
with transaction.atomic():
    # Registered first, so it runs right after the commit, before the publish.
    transaction.on_commit(lambda: os._exit(0))
    submit_run(workspace=workspace, graph=json.loads(sys.argv[3]), experiment_name="Crash",
               parameters={}, by=user, run_source="SDK")
"""


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_web_process_died_before_publishing_runs_soon_and_once(
    celery_worker, crew, snap
):
    graph = validate_graph(
        {"parameters": [], "steps": [step("once", snap, "once.py")]}, crew.workspace
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            SUBMIT_AND_DIE,
            str(crew.workspace.pk),
            str(crew.contributor.pk),
            json.dumps(graph),
        ],
        env=worker_environment(),
        cwd=django_settings.BASE_DIR,
        check=True,
        timeout=120,
    )
    run = PipelineRun.objects.get(experiment__name="Crash")
    once = run.steps.get()
    assert (run.status, once.status, once.attempts) == (RunStatus.QUEUED, RunStatus.QUEUED, 0)
    # The live worker's beat sends it again: within seconds, not the 5 minutes it took.
    wait_for_run(run, timeout=45)
    once.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert once.attempts == 1
    assert run.metrics.filter(name="ran").count() == 1


@pytest.mark.django_db
def test_only_the_oldest_queued_steps_of_each_target_are_sent_again(crew, snap):
    runs = [submit(crew, [step("once", snap, "once.py", compute_target="gpu")]) for _ in range(3)]
    StepRun.objects.update(queued_at=timezone.now() - timedelta(hours=1))
    assert resend_stale_steps(head=2) == 2
    resent = StepRun.objects.filter(queued_at__gt=timezone.now() - timedelta(minutes=1))
    assert sorted(s.run_id for s in resent) == [runs[0].pk, runs[1].pk]
    assert resend_stale_steps(head=2) == 0  # each is sent again once per period
