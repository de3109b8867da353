"""Compare runs: the page, the REST route and the SDK, and metrics carried by reused steps."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipelines.models import StepRun
from pipelines.sdk import BadRequestError, NotFoundError, PipelineRun
from studio.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_runs(studio_data):
    """Three runs of one endpoint with different learning rates and accuracies."""
    endpoint = studio_data.endpoint("Scoring")
    runs = []
    for rate, accuracy in ((0.1, 0.81), (0.01, 0.9), (0.1, 0.85)):
        run = studio_data.run(
            endpoint=endpoint, parameters={"rate": rate, "epochs": 5}, experiment="tune"
        )
        studio_data.metric(run, "accuracy", accuracy, step_name="evaluate")
        studio_data.metric(run, "f1", 0.5, step_name="evaluate")
        runs.append(run)
    return runs


def compare_url(runs, **extra):
    query = "&".join(
        [f"runs={','.join(str(r.pk) for r in runs)}"] + [f"{k}={v}" for k, v in extra.items()]
    )
    return f"{reverse('pipelines:run_compare')}?{query}"


def reuse_every_step(studio_data, source, **fields):
    """A run whose steps all reused ``source``'s, as the scheduler leaves it."""
    run = studio_data.run(endpoint=source.pipeline_endpoint, seconds=0, **fields)
    for step in run.steps.all():
        step.reused_from = source.steps.get(name=step.name)
        step.save(update_fields=["reused_from"])
    return run


def test_compare_page_marks_the_values_that_differ(client, team, three_runs):
    client.force_login(team.reader)
    html = client.get(compare_url(three_runs)).content.decode()
    for run in three_runs:
        assert f">Run {run.pk}</a></th>" in html
    # rate and accuracy differ, epochs and f1 do not.
    assert '<tr class="differs"><th scope="row"><code>rate</code>' in html
    assert '<tr class=""><th scope="row"><code>epochs</code>' in html
    assert '<tr class="differs"><th scope="row">accuracy' in html
    assert '<tr class=""><th scope="row">f1' in html
    assert html.count('<rect class="bar status-finished"') == 3
    assert f"<title>Run {three_runs[1].pk}: accuracy = 0.9</title>" in html


def test_checkboxes_lead_to_the_shareable_comma_url(client, team, three_runs):
    client.force_login(team.reader)
    ids = [str(run.pk) for run in three_runs]
    response = client.get(reverse("pipelines:run_compare"), {"runs": ids})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?runs={','.join(ids)}")
    html = client.get(reverse("pipelines:run_list")).content.decode()
    assert 'form="compare-form"' in html and 'id="compare-form"' in html


def test_compare_chart_shows_the_chosen_metric(client, team, three_runs):
    client.force_login(team.reader)
    html = client.get(compare_url(three_runs, metric="f1")).content.decode()
    assert '<option value="f1" selected>' in html
    assert 'aria-label="f1 across runs"' in html


@pytest.mark.parametrize(
    "runs, message",
    [
        ("1", "Choose between 2 and 10 runs"),
        (",".join(str(i) for i in range(1, 12)), "Choose between 2 and 10 runs"),
        ("1,abc", "is not a run id"),
        ("1,-2", "is not a run id"),
        ("", "Choose between 2 and 10 runs"),
    ],
)
def test_bad_run_lists_say_what_is_wrong(client, team, runs, message):
    client.force_login(team.reader)
    response = client.get(reverse("pipelines:run_compare"), {"runs": runs})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_runs_of_another_workspace_cannot_be_compared(client, team, studio_data, three_runs):
    theirs = studio_data.run(workspace=team.other_workspace)
    client.force_login(team.reader)
    response = client.get(compare_url([three_runs[0], theirs]))
    assert response.status_code == 400
    assert f"No run {theirs.pk} in this workspace" in response.content.decode()


def test_compare_page_queries_do_not_grow_with_runs(client, team, studio_data, three_runs):
    client.force_login(team.reader)

    def count(runs):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(compare_url(runs)).status_code == 200
        return len(queries)

    two = count(three_runs[:2])
    more = [
        *three_runs,
        *(studio_data.run(endpoint=three_runs[0].pipeline_endpoint) for _ in range(7)),
    ]
    assert count(more) == two


def test_a_fully_reused_run_carries_the_metrics_it_reused(client, team, studio_data, three_runs):
    reused = reuse_every_step(studio_data, three_runs[1], parameters={"rate": 0.01, "epochs": 5})
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[reused.pk])).content.decode()
    assert 'id="run-metrics"' in html  # not "No metrics."
    assert "<code>0.9</code>" in html and "♻ reused" in html
    html = client.get(compare_url([three_runs[1], reused])).content.decode()
    assert '<tr class=""><th scope="row">accuracy' in html  # the same value in both
    step = reused.steps.get(name="evaluate")
    html = client.get(reverse("pipelines:run_detail", args=[reused.pk]), {"step": step.pk})
    assert html.content.decode().count("<code>0.9</code>") == 2  # run table and step panel


@pytest.mark.django_db(transaction=True)
def test_rest_compare_and_metrics_of_a_reused_run(api, team, studio_data, three_runs):
    reused = reuse_every_step(studio_data, three_runs[0], parameters={"rate": 0.1, "epochs": 5})
    token = team.token(Role.READER)
    ids = ",".join(str(r.pk) for r in [*three_runs, reused])
    answer = api.get(f"/runs/compare?ids={ids}", token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [run["Id"] for run in body["Runs"]] == ids.split(",")
    rows = {row["Name"]: row for row in body["Parameters"] + body["Metrics"]}
    assert rows["rate"]["Values"] == [0.1, 0.01, 0.1, 0.1] and rows["rate"]["Differs"]
    assert rows["epochs"]["Differs"] is False
    assert rows["accuracy"]["Values"] == [0.81, 0.9, 0.85, 0.81]
    assert rows["accuracy"]["Reused"] == [False, False, False, True]
    metrics = api.get(f"/runs/{reused.pk}/metrics", token).json()["Items"]
    assert {(m["Name"], m["Value"], m["IsReused"]) for m in metrics} == {
        ("accuracy", 0.81, True),
        ("f1", 0.5, True),
    }
    assert metrics[0]["ReusedFromRunId"] == str(three_runs[0].pk)
    assert metrics[0]["StepId"] == str(reused.steps.get(name="evaluate").pk)
    step = reused.steps.get(name="evaluate")
    step_metrics = api.get(f"/runs/{reused.pk}/steps/{step.pk}/metrics", token).json()["Items"]
    assert len(step_metrics) == 2 and all(m["IsReused"] for m in step_metrics)


@pytest.mark.django_db(transaction=True)
def test_rest_compare_refuses_bad_ids_with_a_json_error(api, team, studio_data, three_runs):
    token = team.token(Role.READER)
    for query, status in (("ids=1", 400), ("ids=1,x", 400), ("ids=" + "9" * 30, 400), ("", 400)):
        answer = api.get(f"/runs/compare?{query}", token)
        assert answer.status_code == status, (query, answer.text)
        assert "error" in answer.json()
    theirs = studio_data.run(workspace=team.other_workspace)
    answer = api.get(f"/runs/compare?ids={three_runs[0].pk},{theirs.pk}", token)
    assert answer.status_code == 404 and str(theirs.pk) in answer.json()["error"]["message"]
    assert api.get(f"/runs/compare?ids={three_runs[0].pk},{three_runs[1].pk}").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_sdk_compare_returns_values_per_run(sdk_workspace, studio_data, three_runs):
    ws = sdk_workspace(Role.READER)
    comparison = PipelineRun.compare(ws, [run.pk for run in three_runs])
    assert [run.id for run in comparison.runs] == [str(run.pk) for run in three_runs]
    assert comparison.parameters["rate"] == [0.1, 0.01, 0.1]
    assert comparison.metrics["accuracy"] == [0.81, 0.9, 0.85]
    assert comparison.differing == {"rate", "accuracy"}
    assert comparison.runs[0].status == "Finished"
    with pytest.raises(BadRequestError):
        PipelineRun.compare(ws, [three_runs[0].pk])
    with pytest.raises(NotFoundError):
        PipelineRun.compare(ws, [three_runs[0].pk, 10**9])
    assert StepRun.objects.count() == 9  # reading wrote nothing
