"""Snapshots and draft pipelines over raw HTTP: upload, create, get, submit."""

import io
import tarfile

import pytest

from pipelines.models import Pipeline, PipelineRun, SourceSnapshot


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload(api, token, data, name="src.tar.gz"):
    return api.post("/snapshots", token, files={"archive": (name, data, "application/gzip")})


def test_upload_a_snapshot_then_find_it_by_hash(api, studio, tokens):
    data = tar_gz({"score.py": b"print(1)\n", "lib/util.py": b"x = 1\n"})
    first = upload(api, tokens["contributor"], data)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["Files"] == ["lib/util.py", "score.py"] and body["Size"] == len(data)
    again = upload(api, tokens["contributor"], data)
    assert again.status_code == 200 and again.json() == body
    found = api.get(f"/snapshots/{body['Sha256']}", tokens["reader"])
    assert found.status_code == 200 and found.json() == body


def test_unknown_snapshot_is_404(api, studio, tokens):
    response = api.get("/snapshots/" + "0" * 64, tokens["reader"])
    assert response.status_code == 404
    assert api.get("/snapshots/not-a-hash", tokens["reader"]).status_code == 404


@pytest.mark.parametrize(
    "data, words",
    [
        (b"not a tarball", "not a readable"),
        (tar_gz({"../escape.py": b"x"}), "leaves the snapshot"),
        (tar_gz({"/etc/passwd": b"x"}), "leaves the snapshot"),
    ],
)
def test_bad_archives_are_400_and_store_nothing(api, studio, tokens, data, words):
    before = SourceSnapshot.objects.count()
    response = upload(api, tokens["contributor"], data)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"]
    assert SourceSnapshot.objects.count() == before


def test_snapshot_over_the_limit_is_413(api, studio, tokens, settings):
    settings.STUDIO_SNAPSHOT_MAX_BYTES = 1000
    response = upload(api, tokens["contributor"], tar_gz({"big.bin": bytes(range(256)) * 40}))
    assert response.status_code == 413, response.text


def test_snapshot_must_be_multipart(api, studio, tokens):
    response = api.post("/snapshots", tokens["contributor"], json={"archive": "..."})
    assert response.status_code == 415
    missing = api.post("/snapshots", tokens["contributor"], files={"other": ("a", b"x")})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][0]["field"] == "archive"


def test_create_get_and_run_a_draft_pipeline(api, studio, tokens):
    created = api.post(
        "/pipelines",
        tokens["contributor"],
        json={"Name": "Draft", "Description": "d", "Graph": studio.pipeline.graph},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["Graph"] == studio.pipeline.graph and body["CreatedBy"] == "admin-user"
    assert api.get(f"/pipelines/{body['Id']}", tokens["reader"]).json() == body
    run = api.post(
        f"/pipelines/{body['Id']}/runs",
        tokens["contributor"],
        json={"ExperimentName": "Draft", "Tags": {"team": "ml"}, "RunSource": "SDK"},
    )
    assert run.status_code == 201, run.text
    stored = PipelineRun.objects.get(pk=int(run.json()["Id"]))
    assert stored.pipeline_id == int(body["Id"]) and stored.tags == {"team": "ml"}
    assert stored.run_source == "SDK" and run.json()["PipelineId"] == body["Id"]


def test_invalid_graph_is_400_naming_each_problem(api, studio, tokens):
    graph = {
        "parameters": [],
        "steps": [
            {"name": "a", "script_name": "../x.py", "snapshot": studio.snapshot.sha256},
            {"name": "b", "script_name": "train.py", "snapshot": "f" * 64, "inputs": ["nothing"]},
        ],
    }
    before = Pipeline.objects.count()
    response = api.post("/pipelines", tokens["contributor"], json={"Graph": graph})
    assert response.status_code == 400, response.text
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"Graph.steps[0].script_name", "Graph.steps[1].snapshot", "Graph.steps"} <= fields
    assert Pipeline.objects.count() == before


def test_graph_must_be_an_object(api, studio, tokens):
    response = api.post("/pipelines", tokens["contributor"], json={"Graph": [1, 2]})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "Graph"
