"""The hot API paths run a fixed, small number of queries on the live server (submit, detail)."""

import re
import threading

import pytest
from django.db.backends.signals import connection_created


@pytest.fixture
def server_queries():
    """SQL statements run by any connection opened from now on (the live server's threads)."""
    statements, lock = [], threading.Lock()

    def record(execute, sql, params, many, context):
        with lock:
            statements.append(sql)
        return execute(sql, params, many, context)

    def watch(sender, connection, **kwargs):
        if record not in connection.execute_wrappers:
            connection.execute_wrappers.append(record)

    connection_created.connect(watch)
    yield statements
    connection_created.disconnect(watch)


def data_queries(statements):
    """The statements that touch tables (not PRAGMA, SAVEPOINT, BEGIN or COMMIT)."""
    return [
        s for s in statements if s.lstrip().split()[0].upper() in {"SELECT", "INSERT", "UPDATE"}
    ]


def table_of(sql):
    """``SELECT pipelines_run`` for a statement reading from (or writing into) that table."""
    return sql.lstrip().split()[0] + " " + re.search(r'(?:FROM|INTO) "(\w+)"', sql)[1]


def test_submit_to_an_endpoint_runs_a_fixed_number_of_queries(api, studio, tokens, server_queries):
    path = f"/pipeline-endpoints/{studio.endpoint.pk}/runs"
    api.post(path, tokens["contributor"], json={"ExperimentName": "Warm"})
    for experiment in ("Warm", "New"):
        server_queries.clear()
        response = api.post(path, tokens["contributor"], json={"ExperimentName": experiment})
        assert response.status_code == 201
        queries = data_queries(server_queries)
        engine_starts = next(i for i, sql in enumerate(queries) if "pipelines_experiment" in sql)
        # The API's own part: the token, then the endpoint with its version and pipeline.
        assert engine_starts == 2, queries
        assert [table_of(sql) for sql in queries[:2]] == [
            "SELECT studio_apitoken",
            "SELECT endpoints_pipelineendpointversion",
        ]
        # The engine's part, all in the submit transaction: the experiment (created on first
        # use), the reuse lookup of the first step, the run and its steps. Nothing after the
        # commit but the broker publish.
        engine = [table_of(sql) for sql in queries[2:]]
        created = ["INSERT pipelines_experiment"] if experiment == "New" else []
        assert engine == [
            "SELECT pipelines_experiment",
            *created,
            "SELECT pipelines_steprun",
            "INSERT pipelines_pipelinerun",
            "INSERT pipelines_steprun",
        ], queries


def test_an_idempotency_key_adds_one_lookup_and_one_insert(api, studio, tokens, server_queries):
    path = f"/pipeline-endpoints/{studio.endpoint.pk}/runs"
    body = {"ExperimentName": "Warm"}
    api.post(path, tokens["contributor"], json=body)
    server_queries.clear()
    first = api.post(path, tokens["contributor"], json=body, headers={"Idempotency-Key": "q-1"})
    assert first.status_code == 201
    tables = [table_of(sql) for sql in data_queries(server_queries)]
    assert tables == [
        "SELECT studio_apitoken",
        "SELECT endpoints_pipelineendpointversion",
        "SELECT pipelines_idempotencykey",
        "SELECT pipelines_experiment",
        "SELECT pipelines_steprun",
        "INSERT pipelines_pipelinerun",
        "INSERT pipelines_steprun",
        "INSERT pipelines_idempotencykey",
    ], server_queries
    # A retry is answered from the key: the run is read back with its experiment, no writes.
    server_queries.clear()
    again = api.post(path, tokens["contributor"], json=body, headers={"Idempotency-Key": "q-1"})
    assert again.json()["Id"] == first.json()["Id"]
    tables = [table_of(sql) for sql in data_queries(server_queries)]
    assert tables == [
        "SELECT studio_apitoken",
        "SELECT endpoints_pipelineendpointversion",
        "SELECT pipelines_idempotencykey",
    ], server_queries


def test_run_detail_is_two_queries(api, studio, tokens, server_queries):
    api.get(f"/runs/{studio.run.pk}", tokens["reader"])
    server_queries.clear()
    response = api.get(f"/runs/{studio.run.pk}", tokens["reader"])
    assert response.status_code == 200
    assert len(data_queries(server_queries)) == 2, server_queries
