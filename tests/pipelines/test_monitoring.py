"""GET /metrics: Prometheus text read from the database, the broker and the cache, answered
only when enabled and only to the scrapers allowed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.broker import RUN_STEP_TASK, send_task
from pipelines.models import PipelineRun, RunStatus, StepRun, WorkerHeartbeat
from tests.fixtures.metrics import scrape
from tests.fixtures.worker import purge_queues

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


def test_metrics_are_off_unless_enabled(client, settings):
    settings.STUDIO_METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


def test_without_a_token_only_this_machine_is_answered(client, metrics_on):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    proxied = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 403  # a proxy on this machine passing a caller on


def test_with_a_token_every_scraper_must_send_it(client, metrics_on):
    metrics_on.STUDIO_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    answered = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answered.status_code == 200


def test_runs_by_status_and_step_durations(client, metrics_on, studio):
    run, step = studio.run, studio.step
    before = scrape(client)
    now = timezone.now()
    PipelineRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    StepRun.objects.filter(pk=step.pk).update(
        status=RunStatus.FINISHED,
        started_at=now - timedelta(seconds=10),
        finished_at=now,
        worker="machine-b@host",
        heartbeat_at=now - timedelta(seconds=30),
    )
    after = scrape(client)

    def runs(status, figures):
        return figures[("studio_runs", (("status", status),))]

    assert runs("Running", after) == runs("Running", before) + 1
    assert runs("Queued", after) == runs("Queued", before) - 1
    bucket = (("le", "15.0"),)
    assert after[("studio_step_duration_seconds_bucket", bucket)] == 1
    assert after[("studio_step_duration_seconds_bucket", (("le", "5.0"),))] == 0
    assert after[("studio_step_duration_seconds_count", ())] == 1
    assert after[("studio_step_duration_seconds_sum", ())] == pytest.approx(10, abs=0.01)


def test_workers_by_state_and_heartbeat_ages_from_their_own_heartbeats(client, metrics_on):
    WorkerHeartbeat.objects.all().delete()  # in this test's transaction: only the rows below

    def worker(name, seen_ago=0.0, interval=15.0, stopped=False):
        started = timezone.now() - timedelta(hours=3)
        WorkerHeartbeat.beat(
            name, hostname="host", queues=["cpu"], pid=4242, interval=interval, started_at=started
        )
        if stopped:
            assert WorkerHeartbeat.mark_stopped(name, pid=4242, started_at=started) == 1
        if seen_ago:
            WorkerHeartbeat.objects.filter(name=name).update(
                seen_at=timezone.now() - timedelta(seconds=seen_ago)
            )

    worker("idle@a")  # beating, running no step
    worker("slow@b", seen_ago=100, interval=60)  # under 3 of its own intervals: alive
    worker("lost@c", seen_ago=100, interval=15)  # over 3 of its own intervals: stale
    worker("done@d", seen_ago=60, stopped=True)
    worker("gone@e", seen_ago=2 * 3600)  # not seen in the last hour: not reported
    worker("old-stop@f", seen_ago=2 * 3600, stopped=True)
    figures = scrape(client)

    ages = {
        dict(labels)["worker"]: value
        for (name, labels), value in figures.items()
        if name == "studio_worker_heartbeat_age_seconds"
    }
    assert sorted(ages) == ["idle@a", "lost@c", "slow@b"]
    assert ages["idle@a"] < 100 <= ages["slow@b"]
    assert 100 <= ages["lost@c"] < 3600
    states = {
        dict(labels)["state"]: value
        for (name, labels), value in figures.items()
        if name == "studio_workers"
    }
    assert states == {"alive": 2, "stale": 1, "stopped": 1}


def test_queue_depth_is_read_from_the_broker(client, metrics_on):
    purge_queues(("gpu",))
    before = scrape(client)[("studio_queue_depth", (("queue", "gpu"),))]
    for _ in range(3):  # no step 0 exists: a worker taking one later does nothing
        assert send_task(RUN_STEP_TASK, [0, 1], "gpu")
    try:
        figures = scrape(client)
    finally:
        purge_queues(("gpu",))
    assert figures[("studio_queue_depth", (("queue", "gpu"),))] == before + 3
    assert ("studio_queue_depth", (("queue", "studio"),)) in figures


def test_submits_are_counted_by_result(client, metrics_on, studio, tokens):
    url = f"/api/v1/published-pipelines/{studio.published.pk}/runs"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['contributor']}"}

    def post(body, **headers):
        return client.post(url, body, content_type="application/json", **auth, **headers)

    def counts():
        figures = scrape(client)
        return {
            result: figures[("studio_submits_total", (("result", result),))]
            for result in ("accepted", "replayed", "refused", "error")
        }

    before = counts()
    assert post({"ExperimentName": "E"}, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert post({"ExperimentName": "E"}, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    bad = {"ExperimentName": "E", "ParameterAssignments": {"epochs": "ten"}}
    assert post(bad).status_code == 400
    studio.published.set_enabled(False, by=studio.team.admin)
    assert post({"ExperimentName": "E"}).status_code == 409
    after = counts()

    assert {k: after[k] - before[k] for k in after} == {
        "accepted": 1,
        "replayed": 1,
        "refused": 2,
        "error": 0,
    }
