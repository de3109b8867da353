"""Runs of thousands of steps: the step limit (STUDIO_MAX_STEPS), a submit whose statements do
not grow with the graph, and the steps list a page at a time over REST."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipelines import engine
from pipelines.engine import submit_run
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PipelineRun, RunStatus, StepRun
from pipelines.scheduler import complete_step
from tests.fixtures.worker import purge_queues
from tests.pipelines.builders import make_snapshot, step, submit
from tests.pipelines.test_queue_cleanup import waiting
from tests.pipelines.test_scheduler_scale import claimed


def wide_graph(snapshot, size: int, name_length: int = 0) -> dict:
    """``size`` independent steps (names padded to ``name_length``), none a worker takes."""
    return {
        "parameters": [],
        "steps": [
            {
                "name": f"s{i}".ljust(name_length, "x"),
                "script_name": "train.py",
                "snapshot": snapshot.sha256,
                "compute_target": "gpu",
            }
            for i in range(size)
        ],
    }


def test_a_graph_over_the_step_limit_is_a_400_naming_the_limit_and_stores_nothing(
    api, studio, tokens, settings
):
    settings.STUDIO_MAX_STEPS = 5
    before = (Pipeline.objects.count(), PipelineRun.objects.count(), StepRun.objects.count())
    response = api.post(
        "/pipelines", tokens["contributor"], json={"Graph": wide_graph(studio.snapshot, 6)}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "at most 5 steps" in error["message"] and "STUDIO_MAX_STEPS" in error["message"]
    assert error["details"] == [{"field": "Graph.steps", "message": "6 steps, over the limit of 5"}]
    after = (Pipeline.objects.count(), PipelineRun.objects.count(), StepRun.objects.count())
    assert after == before


def test_a_graph_at_the_step_limit_is_stored_and_runs_with_every_step(
    api, studio, tokens, settings
):
    settings.STUDIO_MAX_STEPS = 5
    created = api.post(
        "/pipelines", tokens["contributor"], json={"Graph": wide_graph(studio.snapshot, 5)}
    )
    assert created.status_code == 201, created.text
    submitted = api.post(
        f"/pipelines/{created.json()['Id']}/runs",
        tokens["contributor"],
        json={"ExperimentName": "Wide"},
    )
    assert submitted.status_code == 201, submitted.text
    run = PipelineRun.objects.get(pk=submitted.json()["Id"])
    assert sorted(run.steps.values_list("name", flat=True)) == [f"s{i}" for i in range(5)]
    assert set(run.steps.values_list("status", flat=True)) == {"Queued"}


def test_a_graph_over_the_usual_body_limit_may_be_stored(api, studio, tokens):
    # About 1.4 MB of JSON: over the 1 MiB of other bodies, under the 16 MiB of a graph.
    graph = wide_graph(studio.snapshot, 5500, name_length=250)
    created = api.post("/pipelines", tokens["contributor"], json={"Graph": graph})
    assert created.status_code == 201, created.text[:500]
    assert len(Pipeline.objects.get(pk=created.json()["Id"]).graph["steps"]) == 5500


def submit_statements(crew, snap, size: int) -> int:
    steps = [
        {"name": f"s{i}", "script_name": "s.py", "snapshot": snap.sha256, "compute_target": "gpu",
         "arguments": [str(i)]}  # each step its own fingerprint: a reuse lookup each
        for i in range(size)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        run = submit(crew, steps, experiment=f"Size {size}")
    assert run.steps.count() == size
    return len(queries)


@pytest.mark.django_db
def test_submit_statements_do_not_grow_with_the_steps(crew, tmp_path):
    snap = make_snapshot(crew.workspace, tmp_path, {"s.py": "pass\n"})
    submit_statements(crew, snap, 1)  # the experiment exists from here on
    # One reuse lookup for all first steps, one INSERT of the run and one of its steps...
    small = submit_statements(crew, snap, 20)
    assert submit_statements(crew, snap, 400) == small
    # ... or one per 500 steps: 4 lookups and 2 INSERTs of steps for 2,000.
    assert submit_statements(crew, snap, 2000) == small + 3 + 1


@pytest.fixture
def five_step_run(studio):
    return submit_run(
        workspace=studio.team.workspace,
        graph=validate_graph(wide_graph(studio.snapshot, 5), studio.team.workspace),
        experiment_name="Paged",
        parameters={},
        by=studio.team.admin,
        run_source="SDK",
    )


def test_the_steps_of_a_run_come_a_page_at_a_time_in_graph_order(api, tokens, five_step_run):
    path = f"/runs/{five_step_run.pk}/steps"
    names, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = api.get(path, tokens["reader"], params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["Items"]) <= 2
        names += [item["Name"] for item in body["Items"]]
        pages += 1
        cursor = body["NextCursor"]
        if cursor is None:
            break
    assert (names, pages) == ([f"s{i}" for i in range(5)], 3)
    # Without paging arguments a small run comes whole, as before.
    whole = api.get(path, tokens["reader"]).json()
    assert [item["Name"] for item in whole["Items"]] == names and whole["NextCursor"] is None


@pytest.mark.parametrize(
    "query, field",
    [
        ("cursor=garbage!", "cursor"),
        ("cursor=WzEsIDJd" + "A" * 300, "cursor"),
        ("cursor=WyJhIiwgMV0", "cursor"),  # ["a", 1]
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
    ],
)
def test_bad_steps_paging_is_400_naming_it(api, tokens, five_step_run, query, field):
    response = api.get(f"/runs/{five_step_run.pk}/steps?{query}", tokens["reader"])
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


def test_the_steps_of_another_workspaces_run_are_404(api, tokens, five_step_run):
    response = api.get(f"/runs/{five_step_run.pk}/steps?limit=2", tokens["other"])
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_run_sends_a_bounded_number_of_messages_and_keeps_the_rest_queued(
    crew, tmp_path, monkeypatch
):
    monkeypatch.setattr(engine, "RUN_MESSAGES", 3)
    snap = make_snapshot(crew.workspace, tmp_path, {"s.py": "pass\n"})
    purge_queues()
    # No test worker takes "gpu": the messages wait in the broker.
    run = submit(crew, [step(f"s{i}", snap, "s.py", compute_target="gpu") for i in range(8)])
    assert waiting("gpu") == 3
    assert set(run.steps.values_list("status", flat=True)) == {"Queued"}
    purge_queues()


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_went_on_long_enough_hands_the_run_back_to_the_broker(crew, tmp_path):
    snap = make_snapshot(crew.workspace, tmp_path, {"s.py": "pass\n"})
    run = submit(crew, [step(f"s{i}", snap, "s.py", compute_target="gpu") for i in range(3)])
    purge_queues()  # as if the messages of s1 and s2 were taken and lost
    first = claimed(run, "s0")
    assert complete_step(first, 1, RunStatus.FINISHED, go_on=False) is None
    # Nothing claimed here; one message for the last Queued step keeps the run going.
    assert waiting("gpu") == 1
    assert sorted(run.steps.values_list("status", flat=True)) == ["Finished", "Queued", "Queued"]
    purge_queues()
