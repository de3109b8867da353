"""Rerun from the failed step through the run page, REST and the SDK (what gets written;
the execution itself is in test_rerun.py)."""

import pytest
from django.urls import reverse

from pipelines.models import PipelineRun
from pipelines.sdk import BadRequestError, ConflictError
from pipelines.sdk import PipelineRun as SdkRun
from studio.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(studio_data):
    endpoint = studio_data.endpoint("Scoring")
    return studio_data.run(
        endpoint=endpoint,
        status="Failed",
        steps={"prepare": "Finished", "train": "Failed", "evaluate": "Canceled"},
        parameters={"pipeline_arg": 7},
        experiment="nightly",
        description="first try",
        tags={"team": "vision"},
        error="Step 'train' failed: exit code 1",
    )


def test_failed_run_offers_rerun_and_the_form_holds_its_values(client, team, failed):
    client.force_login(team.contributor)
    html = client.get(reverse("pipelines:run_detail", args=[failed.pk])).content.decode()
    assert "Rerun from failed step" in html
    html = client.get(reverse("pipelines:run_rerun", args=[failed.pk])).content.decode()
    assert 'name="p_pipeline_arg" value="7"' in html
    assert 'value="nightly"' in html and "first try" in html and 'value="team=vision"' in html
    assert "int, default 10" in html  # each parameter with its type and default


def test_rerun_with_a_corrected_parameter_links_back(client, team, failed):
    client.force_login(team.contributor)
    url = reverse("pipelines:run_rerun", args=[failed.pk])
    data = {"experiment_name": "nightly", "p_pipeline_arg": "8", "tags": "team=vision, try=2"}
    response = client.post(url, data)
    new = PipelineRun.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{new.pk}/")
    assert new.resubmitted_from == failed and new.parameters == {"pipeline_arg": 8}
    assert new.tags == {"team": "vision", "try": "2"}


def test_rerun_errors_sit_on_their_fields(client, team, failed):
    client.force_login(team.contributor)
    url = reverse("pipelines:run_rerun", args=[failed.pk])
    response = client.post(url, {"experiment_name": "", "p_pipeline_arg": "x", "tags": "oops"})
    html = response.content.decode()
    assert response.status_code == 400 and not PipelineRun.objects.exclude(pk=failed.pk).exists()
    for field in ("id_experiment_name", "id_p_pipeline_arg", "id_tags"):
        assert f'<ul class="errorlist" id="{field}_error">' in html
        assert f'aria-describedby="{field}_helptext {field}_error"' in html
    assert html.count('aria-invalid="true"') == 3


def test_finished_runs_and_readers_cannot_rerun(client, team, studio_data, failed):
    finished = studio_data.run(status="Finished")
    client.force_login(team.contributor)
    html = client.get(reverse("pipelines:run_detail", args=[finished.pk])).content.decode()
    assert "Rerun from failed step" not in html
    response = client.post(
        reverse("pipelines:run_rerun", args=[finished.pk]),
        {"experiment_name": "x", "p_pipeline_arg": "1"},
    )
    assert response.status_code == 400 and "only a failed or canceled run" in (
        response.content.decode()
    )
    client.force_login(team.reader)
    url = reverse("pipelines:run_rerun", args=[failed.pk])
    assert client.post(url, {"experiment_name": "x", "p_pipeline_arg": "1"}).status_code == 403
    assert PipelineRun.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_rest_rerun(api, team, studio_data, failed):
    token = team.token(Role.CONTRIBUTOR)
    answer = api.post(
        f"/runs/{failed.pk}/rerun", token, json={"ParameterAssignments": {"pipeline_arg": 9}}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["ParameterAssignments"] == {"pipeline_arg": 9}
    detail = api.get(f"/runs/{body['Id']}", token).json()
    assert detail["ResubmittedFromId"] == str(failed.pk) and detail["ExperimentName"] == "nightly"
    for payload, status in (
        ({"ParameterAssignments": {"nope": 1}}, 400),
        ({"ParameterAssignments": {"pipeline_arg": "x"}}, 400),
        ({"Surprise": 1}, 400),
        ({"ExperimentName": "   "}, 400),
    ):
        refused = api.post(f"/runs/{failed.pk}/rerun", token, json=payload)
        assert refused.status_code == status and "error" in refused.json(), payload
    # A finished run of the fixtures: a worker of another test may be running the queued one.
    finished = studio_data.run(status="Finished")
    assert api.post(f"/runs/{finished.pk}/rerun", token, json={}).status_code == 409
    reader = team.token(Role.READER)
    assert api.post(f"/runs/{failed.pk}/rerun", reader, json={}).status_code == 403
    assert PipelineRun.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_sdk_rerun(sdk_workspace, studio_data, failed):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    again = SdkRun(ws, failed.pk).rerun(pipeline_parameters={"pipeline_arg": 11})
    assert again.get_details()["ResubmittedFromId"] == str(failed.pk)
    assert again.get_details()["ParameterAssignments"] == {"pipeline_arg": 11}
    with pytest.raises(BadRequestError):
        SdkRun(ws, failed.pk).rerun(pipeline_parameters={"pipeline_arg": "eleven"})
    finished = studio_data.run(status="Finished")
    with pytest.raises(ConflictError):
        SdkRun(ws, finished.pk).rerun()  # only a failed or canceled run
