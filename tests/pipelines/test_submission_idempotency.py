"""``Idempotency-Key``: a retried submit returns the first run instead of starting a second."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from django.db import connection, transaction
from django.utils import timezone

from pipelines.models import IdempotencyKey, PipelineRun, PublishedPipeline
from studio.models import Role


def submit(api, studio, token, key, experiment="Retry", target=None):
    path = target or f"/published-pipelines/{studio.published.pk}/runs"
    return api.post(
        path,
        token,
        json={"ExperimentName": experiment, "ParameterAssignments": {"epochs": 3}},
        headers={"Idempotency-Key": key},
    )


def test_same_key_returns_the_first_run(api, studio, tokens):
    before = PipelineRun.objects.count()
    first = submit(api, studio, tokens["contributor"], "key-1")
    again = submit(api, studio, tokens["contributor"], "key-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["Id"] == again.json()["Id"]
    assert again.json()["ParameterAssignments"]["epochs"] == 3
    assert PipelineRun.objects.count() == before + 1


def test_another_key_or_no_key_starts_another_run(api, studio, tokens):
    first = submit(api, studio, tokens["contributor"], "key-1")
    other = submit(api, studio, tokens["contributor"], "key-2")
    assert first.json()["Id"] != other.json()["Id"]
    path = f"/published-pipelines/{studio.published.pk}/runs"
    plain = [api.post(path, tokens["contributor"], json={"ExperimentName": "E"}) for _ in range(2)]
    assert plain[0].json()["Id"] != plain[1].json()["Id"]


def test_same_key_from_another_token_is_another_key(api, studio, tokens):
    mine = submit(api, studio, tokens["contributor"], "shared")
    theirs = submit(api, studio, studio.team.token(Role.CONTRIBUTOR), "shared")
    assert mine.json()["Id"] != theirs.json()["Id"]


def test_key_older_than_a_day_starts_a_new_run(api, studio, tokens):
    first = submit(api, studio, tokens["contributor"], "old-key")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    later = submit(api, studio, tokens["contributor"], "old-key")
    assert later.status_code == 201
    assert later.json()["Id"] != first.json()["Id"]
    assert IdempotencyKey.objects.filter(key="old-key").count() == 1


def test_key_works_on_endpoint_submits(api, studio, tokens):
    path = f"/pipeline-endpoints/{studio.endpoint.pk}/runs"
    first = submit(api, studio, tokens["contributor"], "ep", target=path)
    again = submit(api, studio, tokens["contributor"], "ep", target=path)
    assert first.json()["Id"] == again.json()["Id"]
    assert again.json()["PipelineEndpointId"] == str(studio.endpoint.pk)


def test_unprintable_or_long_key_is_400(api, studio, tokens):
    before = PipelineRun.objects.count()
    for key in ["x" * 256, "has space"]:
        response = submit(api, studio, tokens["contributor"], key)
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert PipelineRun.objects.count() == before


def test_eight_concurrent_identical_requests_make_exactly_one_run(api, studio, tokens):
    before = PipelineRun.objects.count()
    start = Barrier(8)

    def one(_):
        start.wait()
        return submit(api, studio, tokens["contributor"], "burst", experiment="Burst")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(one, range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({r.json()["Id"] for r in responses}) == 1
    assert PipelineRun.objects.count() == before + 1
    assert PipelineRun.objects.filter(experiment__name="Burst").count() == 1


def test_forced_race_on_one_key_returns_the_winners_run(api, studio, tokens):
    """Two requests with one key both find no earlier run, then race to record the key: the
    loser's INSERT meets the unique row and must answer with the winner's run. Only PostgreSQL
    lets two submits get that far at once (SQLite serialises writers), so the race is forced
    there: the key table is locked against writes until both requests wait on that lock."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race is forced on PostgreSQL (CI)")
    before = PipelineRun.objects.count()
    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # SHARE lets the requests read the table but not insert into it.
                cursor.execute(f"LOCK TABLE {IdempotencyKey._meta.db_table} IN SHARE MODE")
            futures = [
                pool.submit(submit, api, studio, tokens["contributor"], "race", "Race")
                for _ in range(2)
            ]
            wait_until_backends_wait_on_a_lock(2, futures)
        responses = [future.result() for future in futures]
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json()["Id"] == responses[1].json()["Id"]
    assert PipelineRun.objects.count() == before + 1
    assert IdempotencyKey.objects.filter(key="race").count() == 1


def wait_until_backends_wait_on_a_lock(count, futures, timeout=60):
    """Block until ``count`` other sessions of the test database wait on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            # The statistics views are a snapshot per transaction: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            done = [f.result().text for f in futures if f.done()]
            assert not done, f"a request ended before waiting on the key table: {done}"
            assert time.monotonic() < deadline, "the requests never reached the key table"
            time.sleep(0.05)


def test_same_key_with_another_body_is_422_naming_the_key(api, studio, tokens):
    first = submit(api, studio, tokens["contributor"], "body-key")
    before = PipelineRun.objects.count()
    path = f"/published-pipelines/{studio.published.pk}/runs"
    other = api.post(
        path,
        tokens["contributor"],
        json={"ExperimentName": "Retry", "ParameterAssignments": {"epochs": 9}},
        headers={"Idempotency-Key": "body-key"},
    )
    assert other.status_code == 422, other.text
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "'body-key'" in error["message"]
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert PipelineRun.objects.count() == before
    assert PipelineRun.objects.get(pk=first.json()["Id"]).parameters["epochs"] == 3


def test_same_body_sent_with_other_spacing_and_key_order_is_the_same_request(api, studio, tokens):
    first = submit(api, studio, tokens["contributor"], "canonical")
    path = f"/published-pipelines/{studio.published.pk}/runs"
    again = api.post(
        path,
        tokens["contributor"],
        data='{ "ParameterAssignments": {"epochs": 3},\n  "ExperimentName": "Retry" }',
        headers={"Idempotency-Key": "canonical", "Content-Type": "application/json"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["Id"] == first.json()["Id"]


def test_same_key_on_another_route_is_another_key(api, studio, tokens):
    published = submit(api, studio, tokens["contributor"], "route-key")
    endpoint_path = f"/pipeline-endpoints/{studio.endpoint.pk}/runs"
    on_endpoint = submit(api, studio, tokens["contributor"], "route-key", target=endpoint_path)
    assert published.status_code == on_endpoint.status_code == 201, on_endpoint.text
    assert published.json()["Id"] != on_endpoint.json()["Id"]
    assert on_endpoint.json()["PipelineEndpointId"] == str(studio.endpoint.pk)
    assert IdempotencyKey.objects.filter(key="route-key").count() == 2


def test_same_key_on_another_published_pipeline_is_another_key(api, studio, tokens):
    other = PublishedPipeline.publish_from(
        studio.pipeline, name="Train", version="2.0", by=studio.team.admin
    )
    first = submit(api, studio, tokens["contributor"], "id-key")
    second = submit(
        api, studio, tokens["contributor"], "id-key", target=f"/published-pipelines/{other.pk}/runs"
    )
    assert second.status_code == 201, second.text
    assert second.json()["PipelineId"] == str(other.pk)
    assert first.json()["Id"] != second.json()["Id"]
