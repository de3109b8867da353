"""The execution API takes a step's run token for that step run only, while it runs, and
for nothing else; API tokens cannot stand in for it. Bad input writes nothing."""

import json

import pytest

from pipelines.models import Experiment, Metric, PipelineRun, RunStatus, StepRun
from pipelines.step_tokens import issue_step_token
from studio.models import ApiToken, Role

pytestmark = pytest.mark.django_db


def running_step(crew, name="s", attempts=1) -> StepRun:
    experiment, _ = Experiment.objects.get_or_create(workspace=crew.workspace, name="E")
    run = PipelineRun.objects.create(
        workspace=crew.workspace, experiment=experiment, graph={}, status=RunStatus.RUNNING
    )
    return StepRun.objects.create(
        run=run, name=name, status=RunStatus.RUNNING, attempts=attempts, worker="w@host"
    )


def post_metrics(client, step_id, token, body=None, raw=None):
    body = {"Metrics": [{"Name": "accuracy", "Value": 0.9}]} if body is None else body
    return client.post(
        f"/api/v1/step-runs/{step_id}/metrics",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_running_step_logs_metrics_with_its_token(client, crew):
    step = running_step(crew)
    token = issue_step_token(step, 1)
    body = {
        "Metrics": [
            {"Name": "accuracy", "Value": 0.9},
            {"Name": "losses", "Kind": "list", "Value": [0.5, 0.25]},
            {"Name": "scores", "Kind": "row", "Value": {"epoch": 1}},
            {"Name": "team", "Kind": "tag", "Value": "engine"},
        ]
    }
    response = post_metrics(client, step.pk, token, body)
    assert response.status_code == 201, response.content
    assert response.json() == {"Stored": 4}
    stored = [(m.name, m.kind, m.value, m.run_id) for m in step.metrics.order_by("id")]
    assert stored == [
        ("accuracy", "scalar", 0.9, step.run_id),
        ("losses", "list", [0.5, 0.25], step.run_id),
        ("scores", "row", {"epoch": 1}, step.run_id),
        ("team", "tag", "engine", step.run_id),
    ]


@pytest.mark.parametrize(
    "ending",
    [
        {"status": RunStatus.FINISHED},
        {"status": RunStatus.FAILED},
        {"status": RunStatus.CANCELING},
        {"status": RunStatus.QUEUED},  # lost and queued again
        {"attempts": 2},  # another attempt took over
    ],
)
def test_the_token_is_worthless_once_its_attempt_stops_running(client, crew, ending):
    step = running_step(crew)
    token = issue_step_token(step, 1)
    StepRun.objects.filter(pk=step.pk).update(**ending)
    response = post_metrics(client, step.pk, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not Metric.objects.exists()


def test_a_new_token_replaces_the_old_one(client, crew):
    step = running_step(crew)
    old = issue_step_token(step, 1)
    new = issue_step_token(step, 1)
    assert post_metrics(client, step.pk, old).status_code == 401
    assert post_metrics(client, step.pk, new).status_code == 201


def test_a_token_is_good_for_its_own_step_run_only(client, crew):
    mine, other = running_step(crew, "mine"), running_step(crew, "other")
    token = issue_step_token(mine, 1)
    issue_step_token(other, 1)
    response = post_metrics(client, other.pk, token)
    assert response.status_code == 404
    assert not Metric.objects.exists()


def test_api_tokens_cannot_log_metrics_and_run_tokens_cannot_call_the_api(client, crew):
    step = running_step(crew)
    _, api_token = ApiToken.issue(crew.workspace, name="t", role=Role.ADMIN, created_by=None)
    assert post_metrics(client, step.pk, api_token).status_code == 401
    token = issue_step_token(step, 1)
    for path in (f"/api/v1/runs/{step.run_id}", "/api/v1/workspace", "/api/v1/runs"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, path
    assert not Metric.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "pss_",
        "pss_1.1.guess",
        "pss_99999999999999999999999.1.x",
        "pss_1.99999999.x",
        "pss_-1.1.x",
        "pss_١.1.x",  # a digit, but not an ASCII one
        "pss_1.1." + "x" * 500,
    ],
)
def test_forged_tokens_are_refused(client, crew, token):
    step = running_step(crew)
    issue_step_token(step, 1)
    assert post_metrics(client, step.pk, token.replace("1.", f"{step.pk}.", 1)).status_code == 401
    assert not Metric.objects.exists()


@pytest.mark.parametrize(
    "body, raw, field",
    [
        (None, "{not json", None),
        ({}, None, "Metrics"),
        ({"Metrics": [{"Value": 1}]}, None, "Metrics.0.Name"),
        ({"Metrics": [{"Name": "", "Value": 1}]}, None, "Metrics[0]"),
        ({"Metrics": [{"Name": "x" * 256, "Value": 1}]}, None, "Metrics[0]"),
        ({"Metrics": [{"Name": "a", "Kind": "image", "Value": 1}]}, None, "Metrics.0.Kind"),
        (
            {"Metrics": [{"Name": "ok", "Value": 1}, {"Name": "a", "Value": "x" * 70000}]},
            None,
            "Metrics[1]",
        ),
        ({"Metrics": [{"Name": "a", "Value": 1}] * 1001}, None, None),
    ],
)
def test_bad_metrics_are_refused_and_nothing_is_stored(client, crew, body, raw, field):
    step = running_step(crew)
    token = issue_step_token(step, 1)
    response = post_metrics(client, step.pk, token, body, raw)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    if field:
        assert field in [d["field"] for d in error["details"]]
    assert not Metric.objects.exists()


@pytest.mark.parametrize("step_id", ["0", "abc", "99999999999999999999999"])
def test_bad_step_run_ids_are_refused(client, crew, step_id):
    step = running_step(crew)
    token = issue_step_token(step, 1)
    response = post_metrics(client, step_id, token)
    assert 400 <= response.status_code < 500 and "error" in response.json()
    assert not Metric.objects.exists()
