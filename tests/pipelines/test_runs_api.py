"""Runs over raw HTTP: list with filters and cursor, detail, steps, log tail, metrics, outputs,
cancel and resubmit."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.engine import submit_published_run
from pipelines.models import PipelineRun, RunStatus


@pytest.fixture
def many_runs(studio):
    """Seven more runs, one minute apart, the odd ones through the endpoint."""
    runs = []
    for index in range(7):
        name, by = f"Exp{index % 2}", studio.team.contributor
        if index % 2:
            run = studio.endpoint.submit(experiment_name=name, by=by)
        else:
            run = submit_published_run(studio.published, experiment_name=name, by=by)
        runs.append(run)
    start = timezone.now() - timedelta(hours=1)
    for index, run in enumerate([studio.run, *runs]):
        PipelineRun.objects.filter(pk=run.pk).update(created_at=start + timedelta(minutes=index))
    return runs


def ids(response):
    return [item["Id"] for item in response.json()["Items"]]


def test_runs_are_listed_newest_first_page_by_page(api, studio, tokens, many_runs):
    everything = [str(r.pk) for r in reversed([studio.run, *many_runs])]
    seen, cursor = [], None
    for _ in range(4):
        query = "/runs?limit=3" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(query, tokens["reader"])
        assert response.status_code == 200, response.text
        seen += ids(response)
        cursor = response.json()["NextCursor"]
        if cursor is None:
            break
    assert seen == everything


@pytest.mark.parametrize(
    "query, expected",
    [
        ("experiment=Exp1", lambda s, r: [r[5], r[3], r[1]]),
        ("endpoint_id={endpoint}", lambda s, r: [r[5], r[3], r[1]]),
        ("published_pipeline_id={published}", lambda s, r: [*reversed(r), s.run]),
        ("submitted_by=contributor-user", lambda s, r: list(reversed(r))),
        ("status=Canceled", lambda s, r: []),
    ],
)
def test_runs_can_be_filtered(api, studio, tokens, many_runs, query, expected):
    query = query.format(endpoint=studio.endpoint.pk, published=studio.published.pk)
    response = api.get(f"/runs?{query}", tokens["reader"])
    assert response.status_code == 200, response.text
    assert ids(response) == [str(r.pk) for r in expected(studio, many_runs)]


def test_runs_can_be_filtered_by_time(api, studio, tokens, many_runs):
    middle = PipelineRun.objects.get(pk=many_runs[3].pk).created_at
    after = api.get("/runs", tokens["reader"], params={"created_after": middle.isoformat()})
    assert ids(after) == [str(r.pk) for r in reversed(many_runs[3:])]
    before = api.get("/runs", tokens["reader"], params={"created_before": middle.isoformat()})
    assert ids(before) == [str(r.pk) for r in reversed([studio.run, *many_runs[:3]])]


def test_resubmit_of_a_run_of_a_disabled_published_pipeline_is_409_and_starts_nothing(
    api, studio, tokens
):
    studio.published.disable(by=studio.team.admin)
    before = sorted(PipelineRun.objects.values_list("pk", flat=True))
    response = api.post(f"/runs/{studio.run.pk}/resubmit", tokens["contributor"])
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    assert "is disabled" in response.json()["error"]["message"]
    assert sorted(PipelineRun.objects.values_list("pk", flat=True)) == before


@pytest.mark.parametrize(
    "query, field",
    [
        ("cursor=garbage!", "cursor"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("status=Sleeping", "status"),
        ("created_after=yesterday", "created_after"),
        ("endpoint_id=x", "endpoint_id"),
    ],
)
def test_bad_run_filters_are_400_naming_them(api, studio, tokens, query, field):
    response = api.get(f"/runs?{query}", tokens["reader"])
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


def test_run_detail(api, studio, tokens):
    body = api.get(f"/runs/{studio.run.pk}", tokens["reader"]).json()
    assert body["Id"] == str(studio.run.pk)
    assert body["ExperimentName"] == "Seeded"
    assert body["PublishedPipelineId"] == str(studio.published.pk)
    assert body["ParameterAssignments"]["epochs"] == 10
    assert body["SubmittedBy"] == "admin-user"
    assert body["RunUrl"].endswith(f"/{studio.run.pk}/")


def test_steps_of_a_run(api, studio, tokens):
    body = api.get(f"/runs/{studio.run.pk}/steps", tokens["reader"]).json()
    assert [(s["Id"], s["Name"], s["Outputs"]) for s in body["Items"]] == [
        (str(studio.step.pk), "train", ["model"])
    ]


def test_log_is_read_from_a_byte_offset(api, studio, tokens):
    path = f"/runs/{studio.run.pk}/steps/{studio.step.pk}/log"
    first = api.get(path, tokens["reader"]).json()
    assert first["Content"] == "épocha 1\nepoch 2\n"
    assert first["Offset"] == 0 and first["NextOffset"] == len("épocha 1\nepoch 2\n".encode())
    assert first["Complete"] is False
    studio.step.log += "epoch 3\n"
    studio.step.status = RunStatus.FINISHED
    studio.step.save()
    tail = api.get(path, tokens["reader"], params={"offset": first["NextOffset"]}).json()
    assert tail["Content"] == "epoch 3\n" and tail["Complete"] is True
    beyond = api.get(path, tokens["reader"], params={"offset": 10_000})
    assert beyond.status_code == 400
    assert beyond.json()["error"]["details"][0]["field"] == "offset"


def test_metrics_of_a_run_and_of_a_step(api, studio, tokens):
    run_metrics = api.get(f"/runs/{studio.run.pk}/metrics", tokens["reader"]).json()
    step_metrics = api.get(
        f"/runs/{studio.run.pk}/steps/{studio.step.pk}/metrics", tokens["reader"]
    ).json()
    assert run_metrics == step_metrics
    (metric,) = run_metrics["Items"]
    assert (metric["Name"], metric["Kind"], metric["Value"]) == ("accuracy", "scalar", 0.93)
    assert (metric["StepId"], metric["StepName"]) == (str(studio.step.pk), "train")


def test_output_folder_downloads_as_a_zip_and_file_by_file(api, studio, tokens):
    base = f"/runs/{studio.run.pk}/steps/{studio.step.pk}/outputs/model"
    archive = api.get(base, tokens["reader"])
    assert archive.status_code == 200
    assert archive.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.read("weights.txt") == b"w=1\n"
    one = api.get(f"{base}/files/weights.txt", tokens["reader"])
    assert one.status_code == 200 and one.content == b"w=1\n"


@pytest.mark.parametrize(
    "suffix, words",
    [
        ("outputs/nope", "its outputs: model"),
        ("outputs/model/files/other.txt", "no file"),
        ("outputs/model/files/..%2F..%2Fsecret", "no file"),
    ],
)
def test_unknown_outputs_are_404(api, studio, tokens, suffix, words):
    response = api.get(f"/runs/{studio.run.pk}/steps/{studio.step.pk}/{suffix}", tokens["reader"])
    assert response.status_code == 404
    assert words in response.json()["error"]["message"]


def test_step_of_another_run_is_404(api, studio, tokens):
    other = submit_published_run(studio.published, experiment_name="Other", by=studio.team.admin)
    response = api.get(f"/runs/{other.pk}/steps/{studio.step.pk}/log", tokens["reader"])
    assert response.status_code == 404


def test_cancel_a_queued_run_then_cancel_again_is_409(api, studio, tokens):
    response = api.post(f"/runs/{studio.run.pk}/cancel", tokens["contributor"])
    assert response.status_code == 202, response.text
    assert response.json()["Status"] == "Canceled"
    again = api.post(f"/runs/{studio.run.pk}/cancel", tokens["contributor"])
    assert again.status_code == 409


def test_resubmit_starts_a_new_run_of_the_same_graph(api, studio, tokens):
    response = api.post(f"/runs/{studio.run.pk}/resubmit", tokens["contributor"])
    assert response.status_code == 201, response.text
    new = PipelineRun.objects.get(pk=int(response.json()["Id"]))
    assert new.pk != studio.run.pk and new.resubmitted_from_id == studio.run.pk
    assert new.graph == studio.run.graph and new.parameters == studio.run.parameters
    assert response.json()["ExperimentName"] == "Seeded"


@pytest.mark.parametrize(
    "query, field",
    [
        ("endpoint_id=99999999999999999999", "endpoint_id"),
        ("published_pipeline_id=0", "published_pipeline_id"),
        ("created_before=0001-01-01T00:00:00%2B05:00", "created_before"),
    ],
)
def test_filters_the_database_cannot_compare_are_400(api, studio, tokens, query, field):
    response = api.get(f"/runs?{query}", tokens["reader"])
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == field


def test_times_with_any_offset_python_accepts_are_compared_in_utc(api, studio, tokens):
    created = PipelineRun.objects.get(pk=studio.run.pk).created_at
    odd_offset = timezone.get_fixed_timezone(18 * 60 + 13)
    later = (created + timedelta(seconds=1)).astimezone(odd_offset).isoformat()
    response = api.get("/runs", tokens["reader"], params={"created_before": later})
    assert response.status_code == 200, response.text
    assert ids(response) == [str(studio.run.pk)]


def test_naive_times_are_utc(api, studio, tokens):
    created = PipelineRun.objects.get(pk=studio.run.pk).created_at
    later = (created + timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    response = api.get("/runs", tokens["reader"], params={"created_before": later})
    assert ids(response) == [str(studio.run.pk)]
