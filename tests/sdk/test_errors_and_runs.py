"""Against a live server: clear exceptions for bad tokens, roles, vanished runs and bad input;
snapshots uploaded once; a submit retried after a lost answer starts one run; failing,
slow and canceled runs."""

import io
import json
import os
import time

import pytest
import requests

from pipelines.models import Pipeline as PipelineRow
from pipelines.models import PipelineRun as RunRow
from pipelines.models import SourceSnapshot
from pipelines.sdk import (
    AuthenticationError,
    BadRequestError,
    Experiment,
    NotFoundError,
    PermissionDeniedError,
    Pipeline,
    PipelineRun,
    PythonScriptStep,
    RunFailedError,
    RunTimeoutError,
    SnapshotError,
    ValidationError,
    Workspace,
)
from pipelines.sdk.snapshots import build_snapshot
from studio.models import Role
from tests.fixtures.sdk import echo_pipeline, read_body, reply, value_seen

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_wrong_token_is_an_authentication_error(live_server):
    ws = Workspace(live_server.url, "not-a-token", retries=0)
    with pytest.raises(AuthenticationError) as caught:
        ws.get_details()
    assert caught.value.status == 401
    assert caught.value.message


def test_reader_may_read_but_not_submit(sdk_workspace, step_source):
    reader = sdk_workspace(Role.READER)
    assert reader.role == "reader" and reader.name == "Team"
    with pytest.raises(PermissionDeniedError) as caught:
        Experiment(reader, "Exp").submit(echo_pipeline(reader, step_source))
    assert caught.value.status == 403


def test_vanished_run_and_run_of_another_workspace_are_not_found(
    sdk_workspace, team, studio_data, live_server
):
    ws = sdk_workspace(Role.ADMIN)
    with pytest.raises(NotFoundError) as caught:
        PipelineRun(ws, "987654").get_status()
    assert caught.value.status == 404
    assert "987654" in caught.value.message or "not found" in caught.value.message.lower()
    teams_run = studio_data.run(published=studio_data.published(), status="Running")
    assert PipelineRun(ws, str(teams_run.pk)).get_status() == "Running"
    stranger = Workspace(live_server.url, team.token(Role.ADMIN, team.other_workspace))
    for read in (PipelineRun.get_status, PipelineRun.get_steps, PipelineRun.get_metrics):
        with pytest.raises(NotFoundError) as caught:
            read(PipelineRun(stranger, str(teams_run.pk)))
        assert caught.value.status == 404


def test_wrong_parameter_value_names_the_parameter_and_starts_nothing(
    celery_worker, sdk_workspace, step_source
):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    pipeline = echo_pipeline(ws, step_source)
    with pytest.raises(BadRequestError) as caught:
        Experiment(ws, "Exp").submit(pipeline, pipeline_parameters={"pipeline_arg": "twenty"})
    assert "pipeline_arg" in str(caught.value)
    with pytest.raises(BadRequestError, match="nope"):
        Experiment(ws, "Exp").submit(pipeline, pipeline_parameters={"nope": 1})
    assert not RunRow.objects.exists()


def test_refusals_found_by_the_sdk_send_nothing(sdk_workspace, step_source, monkeypatch):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    missing = PythonScriptStep("missing.py", source_directory=step_source)
    with pytest.raises(ValidationError, match="The pipeline is not valid"):
        Experiment(ws, "Exp").submit(Pipeline(ws, [missing]))
    (step_source / "weights.bin").write_bytes(os.urandom(200_000))
    monkeypatch.setenv("STUDIO_SNAPSHOT_MAX_BYTES", "100000")
    with pytest.raises(SnapshotError, match="over the snapshot size limit of 0.1 MiB"):
        Experiment(ws, "Exp").submit(echo_pipeline(ws, step_source))
    assert not SourceSnapshot.objects.exists()
    assert not PipelineRow.objects.exists()
    assert not RunRow.objects.exists()


def test_validate_reports_client_and_server_problems(sdk_workspace, step_source):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    assert echo_pipeline(ws, step_source).validate() == []
    missing = PythonScriptStep("missing.py", source_directory=step_source)
    assert Pipeline(ws, [missing]).validate() == [
        f"Step 'missing': script 'missing.py' is not in source_directory '{step_source}' "
        "(or is ignored by .studioignore)"
    ]
    tpu = PythonScriptStep("echo.py", compute_target="tpu", source_directory=step_source)
    (problem,) = Pipeline(ws, [tpu]).validate()
    assert problem.startswith("Graph.steps[0].compute_target: step 'echo': unknown compute")
    assert "'tpu'" in problem


def test_unchanged_source_folder_is_uploaded_once(sdk_workspace, step_source, live_server, team):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    echo_pipeline(ws, step_source).publish(name="One")
    snapshot = build_snapshot(step_source)
    assert list(SourceSnapshot.objects.values_list("sha256", flat=True)) == [snapshot.sha256]
    fresh = Workspace(live_server.url, team.token(Role.CONTRIBUTOR))
    assert fresh.upload_snapshot(snapshot) is False  # the server has it: not sent again
    (step_source / "echo.py").write_text("print('changed')\n")
    assert fresh.upload_snapshot(build_snapshot(step_source)) is True
    assert SourceSnapshot.objects.count() == 2


def test_submit_retried_after_a_lost_answer_starts_one_run(
    celery_worker, sdk_workspace, step_source, team, tmp_path, local_server
):
    admin = sdk_workspace(Role.ADMIN)
    published = echo_pipeline(admin, step_source).publish(name="Echo", version="1")
    lost = []

    def forward_but_lose_the_first_answer(handler):
        """A proxy to the live server; the first POST arrives but its answer is lost."""
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        answer = requests.request(
            handler.command,
            admin.url + handler.path,
            headers=headers,
            data=read_body(handler),
            timeout=30,
        )
        if handler.command == "POST" and not lost:
            lost.append(answer.status_code)
            handler.close_connection = True  # the run exists; the caller never hears of it
            return
        reply(handler, answer.status_code, answer.content, answer.headers["Content-Type"])

    proxy = local_server(forward_but_lose_the_first_answer)
    ws = Workspace(proxy.url, team.token(Role.CONTRIBUTOR), backoff_seconds=0.05)
    run = published.submit(ws, "Exp", {"pipeline_arg": 3})
    assert lost == [201]
    assert list(RunRow.objects.values_list("pk", flat=True)) == [int(run.id)]
    assert value_seen(PipelineRun(admin, run.id), tmp_path) == "3"


def test_failed_run_raises_naming_the_step(celery_worker, sdk_workspace, step_source):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    step = PythonScriptStep("fail.py", source_directory=step_source, allow_reuse=False)
    run = Experiment(ws, "Exp").submit(Pipeline(ws, [step]))
    with pytest.raises(RunFailedError) as caught:
        run.wait_for_completion(show_output=False, timeout_seconds=90)
    assert f"Run {run.id} failed" in str(caught.value)
    assert caught.value.details[0]["field"] == "fail"
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert "about to fail" in run.get_steps()[0].get_log()


def test_metrics_read_back_as_the_cloud_sdk_reported_them(
    celery_worker, sdk_workspace, step_source
):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    step = PythonScriptStep("metrics.py", source_directory=step_source, allow_reuse=False)
    run = Experiment(ws, "Exp").submit(Pipeline(ws, [step]), tags={"team": "a"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=90) == "Finished"
    expected = {
        "loss": [0.5, 0.25],
        "sizes": [1, 2],
        "scores": {"epoch": [1, 2], "acc": [0.5, 0.75]},
    }
    assert run.get_metrics() == expected
    assert run.find_step_run("metrics")[0].get_metrics() == expected
    assert run.get_tags() == {"team": "a", "stage": "done"}


def test_timeout_then_cancel(celery_worker, sdk_workspace, step_source):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    step = PythonScriptStep("sleep.py", source_directory=step_source, allow_reuse=False)
    run = Experiment(ws, "Exp").submit(Pipeline(ws, [step]), tags={"purpose": "cancel"})
    deadline = time.monotonic() + 60
    while [step.status for step in run.get_steps()] != ["Running"]:
        assert time.monotonic() < deadline, run.get_steps()
        time.sleep(0.2)
    shown = io.StringIO()
    with pytest.raises(RunTimeoutError, match=f"Run {run.id} is still Running after 5"):
        run.wait_for_completion(show_output=True, timeout_seconds=5, stream=shown)
    # The log streams while the step still runs.
    assert "StepRun(sleep) status: Running\n" in shown.getvalue()
    assert "--- StepRun(sleep) log ---\nsleeping\n" in shown.getvalue()
    run.cancel()
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Canceled"
    assert run.get_tags() == {"purpose": "cancel"}
    assert run.get_steps()[0].get_status() == "Canceled"


def test_write_config_then_from_config(team, tmp_path, live_server, fast_passwords):
    token = team.token(Role.READER)
    ws = Workspace(live_server.url, token)
    path = ws.write_config(tmp_path)
    assert path == tmp_path / ".studio" / "config.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {
        "url": live_server.url,
        "token": token,
        "workspace": "Team",
    }
    assert Workspace.from_config(tmp_path).role == "reader"
