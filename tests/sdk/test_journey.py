"""Issue 5's journey with the SDK against a live server and a real worker.

A parameter with default 10, a step that writes the value it received to its output;
submit and wait; publish; call the published REST endpoint with raw ``requests``; put it
behind a versioned pipeline endpoint and roll back; disable and enable.
"""

import io

import pytest
import requests

from pipelines.models import PipelineRun as RunRow
from pipelines.sdk import (
    ConflictError,
    Experiment,
    PipelineEndpoint,
    PipelineRun,
    PublishedPipeline,
)
from studio.models import Role
from tests.fixtures.sdk import echo_pipeline, value_seen

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_submit_wait_publish_and_run_over_rest(
    celery_worker, sdk_workspace, step_source, live_server, tmp_path
):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    run = Experiment(ws, "My_Pipeline").submit(echo_pipeline(ws, step_source))
    shown = io.StringIO()
    assert run.wait_for_completion(show_output=True, timeout_seconds=90, stream=shown) == (
        "Finished"
    )
    output = shown.getvalue()
    assert f"PipelineRunId: {run.id}" in output
    assert "PipelineRun status: Finished" in output
    assert "StepRun(echo) status: Finished" in output
    assert "--- StepRun(echo) log ---\nreceived 10\n" in output

    (step,) = run.get_steps()
    assert (step.name, step.get_status()) == ("echo", "Finished")
    assert "received 10" in step.get_log()
    assert step.read_output_file("out1", "value.txt") == b"10"
    assert (step.download_output("out1", tmp_path) / "value.txt").read_text() == "10"
    assert step.get_metrics() == {"value": 10}
    assert run.get_metrics() == {"value": 10}
    assert run.get_details()["ParameterAssignments"] == {"pipeline_arg": 10}
    assert run.get_portal_url().startswith(live_server.url)

    published = run.publish_pipeline(
        name="My_Published_Pipeline",
        description="My Published Pipeline Description",
        version="1.0",
    )
    assert (published.name, published.description, published.version, published.status) == (
        "My_Published_Pipeline",
        "My Published Pipeline Description",
        "1.0",
        "Active",
    )
    assert published.endpoint == (
        f"{live_server.url}/api/v1/published-pipelines/{published.id}/runs"
    )
    assert published.graph["parameters"] == [
        {"name": "pipeline_arg", "type": "int", "default_value": 10}
    ]

    response = requests.post(
        published.endpoint,
        headers=ws.get_authentication_header(),
        json={"ExperimentName": "My_Pipeline", "ParameterAssignments": {"pipeline_arg": 20}},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert value_seen(PipelineRun(ws, response.json()["Id"]), tmp_path) == "20"

    again = PublishedPipeline.get(ws, id=published.id)
    assert value_seen(again.submit(ws, "My_Pipeline", {"pipeline_arg": 7}), tmp_path) == "7"
    assert [p.id for p in PublishedPipeline.get_all(ws)] == [published.id]
    runs = list(Experiment(ws, "My_Pipeline").get_runs())
    assert len(runs) == 3 and runs[-1].id == run.id  # newest first


def test_pipeline_endpoint_versions_default_and_rollback(
    celery_worker, sdk_workspace, step_source, live_server, tmp_path
):
    ws = sdk_workspace(Role.ADMIN)
    first = echo_pipeline(ws, step_source, default=10).publish(
        name="Echo", description="first", version="1.0"
    )
    second = echo_pipeline(ws, step_source, default=30).publish(
        name="Echo", description="second", version="2.0"
    )
    endpoint = PipelineEndpoint.publish(
        workspace=ws, name="PipelineEndpointTest", pipeline=first, description="echo endpoint"
    )
    assert (endpoint.name, endpoint.description, endpoint.default_version) == (
        "PipelineEndpointTest",
        "echo endpoint",
        "0",
    )
    assert endpoint.endpoint == f"{live_server.url}/api/v1/pipeline-endpoints/{endpoint.id}/runs"
    found = PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
    assert found.id == endpoint.id == PipelineEndpoint.get(ws, id=endpoint.id).id

    assert value_seen(found.submit("Exp"), tmp_path) == "10"
    assert value_seen(found.submit("Exp", pipeline_version="0"), tmp_path) == "10"

    endpoint.add(second)
    assert [(v.version, v.pipeline_id, v.is_default) for v in endpoint.list_versions()] == [
        ("0", first.id, True),
        ("1", second.id, False),
    ]
    assert endpoint.get_default_version() == "0"
    assert [p.version for p in endpoint.list_pipelines()] == ["1.0", "2.0"]
    assert endpoint.get_pipeline("1").id == second.id
    run = endpoint.submit("Exp", pipeline_version="1")
    assert value_seen(run, tmp_path) == "30"
    assert run.get_details()["PipelineVersion"] == "1"

    endpoint.set_default_version("1")
    assert endpoint.get_default_version() == "1"
    assert value_seen(endpoint.submit("Exp"), tmp_path) == "30"

    endpoint.set_default(first)  # rollback
    assert endpoint.get_default_version() == "0"
    assert endpoint.get_pipeline().id == first.id
    run = endpoint.submit("Exp", {"pipeline_arg": 11})
    assert value_seen(run, tmp_path) == "11"
    assert run.get_details()["PipelineVersion"] == "0"

    response = requests.post(
        endpoint.endpoint,
        headers=ws.get_authentication_header(),
        json={
            "ExperimentName": "Exp",
            "RunSource": "API",
            "ParameterAssignments": {"pipeline_arg": 42},
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["PipelineVersion"] == "0"
    rest_run = PipelineRun(ws, response.json()["Id"])
    assert value_seen(rest_run, tmp_path) == "42"
    assert rest_run.get_details()["RunSource"] == "API"

    endpoint.set_name("Renamed")
    assert PipelineEndpoint.get(ws, name="Renamed").id == endpoint.id
    third = echo_pipeline(ws, step_source, default=50).publish(name="Echo", version="3.0")
    endpoint.add_default(third)
    assert endpoint.default_version == "2"
    assert value_seen(endpoint.submit("Exp"), tmp_path) == "50"

    endpoint.disable()
    assert endpoint.status == "Disabled"
    with pytest.raises(ConflictError) as refused:
        endpoint.submit("Exp")
    assert refused.value.status == 409
    assert "disabled" in refused.value.message.lower()
    assert endpoint.id not in [e.id for e in PipelineEndpoint.list(ws)]
    assert endpoint.id in [e.id for e in PipelineEndpoint.get_all(ws, active_only=False)]
    endpoint.reactivate()
    assert value_seen(endpoint.submit("Exp", pipeline_version="0"), tmp_path) == "10"


def test_disabled_published_pipeline_refuses_runs_and_leaves_lists(
    celery_worker, sdk_workspace, step_source, tmp_path
):
    ws = sdk_workspace(Role.ADMIN)
    published = echo_pipeline(ws, step_source).publish(name="Echo", description="", version="1")
    published.disable()
    assert published.status == "Disabled"

    with pytest.raises(ConflictError) as refused:
        published.submit(ws, "Exp")
    assert "disabled" in str(refused.value).lower()
    assert "Echo" in refused.value.message
    response = requests.post(
        published.endpoint,
        headers=ws.get_authentication_header(),
        json={"ExperimentName": "Exp"},
        timeout=30,
    )
    assert response.status_code == 409
    assert not RunRow.objects.filter(published_pipeline_id=published.id).exists()
    assert published.id not in [p.id for p in PublishedPipeline.list(ws)]
    listed = {p.id: p.status for p in PublishedPipeline.list(ws, active_only=False)}
    assert listed[published.id] == "Disabled"

    published.enable()
    assert published.status == "Active"
    assert published.id in [p.id for p in PublishedPipeline.list(ws)]
    assert value_seen(published.submit(ws, "Exp", {"pipeline_arg": 5}), tmp_path) == "5"
