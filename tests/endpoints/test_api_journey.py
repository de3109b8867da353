"""A caller's whole journey over raw HTTP with a real Celery worker: upload a snapshot, create
and publish a pipeline, put an endpoint in front of it, run it, then read the run's steps,
log, metrics and outputs through the API."""

import io
import tarfile
import time
import zipfile

import pytest

pytestmark = pytest.mark.worker

TRAIN = b"""
import json, os, pathlib, sys
from pipelines.sdk import Run
out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
epochs = int(sys.argv[sys.argv.index("--epochs") + 1])
(out / "model.txt").write_text(f"epochs={epochs}\\n")
print("trained for", epochs, "epochs", flush=True)
Run.get_context().log("accuracy", 0.5 + epochs / 100)
"""


def archive(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def wait_until_ended(api, token, run_id, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/runs/{run_id}", token).json()
        if run["Status"] in {"Finished", "Failed", "Canceled"}:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.3)


def test_publish_run_and_inspect_over_rest(celery_worker, api, fast_passwords, team):
    token = team.token("contributor")
    snapshot = api.post(
        "/snapshots", token, files={"archive": ("src.tar.gz", archive({"train.py": TRAIN}))}
    ).json()
    graph = {
        "parameters": [{"name": "epochs", "default_value": 10}],
        "steps": [
            {
                "name": "train",
                "script_name": "train.py",
                "snapshot": snapshot["Sha256"],
                "arguments": ["--epochs", {"parameter": "epochs"}, "--out", {"data": "model"}],
                "outputs": ["model"],
                "compute_target": "cpu",
            }
        ],
    }
    pipeline = api.post("/pipelines", token, json={"Name": "Train", "Graph": graph})
    assert pipeline.status_code == 201, pipeline.text
    published = api.post(
        f"/pipelines/{pipeline.json()['Id']}/publish", token, json={"Name": "Train", "Version": "1"}
    ).json()
    endpoint = api.post(
        "/pipeline-endpoints", token, json={"Name": "Nightly", "PipelineId": published["Id"]}
    ).json()

    submitted = api.post(
        f"/pipeline-endpoints/{endpoint['Id']}/runs",
        token,
        json={"ExperimentName": "Journey", "ParameterAssignments": {"epochs": "20"}},
        headers={"Idempotency-Key": "journey-1"},
    )
    assert submitted.status_code == 201, submitted.text
    run_id = submitted.json()["Id"]
    run = wait_until_ended(api, token, run_id)
    assert run["Status"] == "Finished", run
    assert run["ParameterAssignments"] == {"epochs": 20} and run["PipelineVersion"] == "0"

    (step,) = api.get(f"/runs/{run_id}/steps", token).json()["Items"]
    assert (step["Name"], step["Status"], step["Outputs"]) == ("train", "Finished", ["model"])
    log = api.get(f"/runs/{run_id}/steps/{step['Id']}/log", token).json()
    assert "trained for 20 epochs" in log["Content"] and log["Complete"] is True
    metrics = api.get(f"/runs/{run_id}/metrics", token).json()["Items"]
    assert [(m["Name"], m["Value"], m["StepName"]) for m in metrics] == [("accuracy", 0.7, "train")]
    output = api.get(f"/runs/{run_id}/steps/{step['Id']}/outputs/model", token)
    with zipfile.ZipFile(io.BytesIO(output.content)) as opened:
        assert opened.read("model.txt") == b"epochs=20\n"
    one = api.get(f"/runs/{run_id}/steps/{step['Id']}/outputs/model/files/model.txt", token)
    assert one.content == b"epochs=20\n"

    again = api.post(
        f"/pipeline-endpoints/{endpoint['Id']}/runs",
        token,
        json={"ExperimentName": "Journey", "ParameterAssignments": {"epochs": "20"}},
        headers={"Idempotency-Key": "journey-1"},
    )
    assert again.json()["Id"] == run_id
