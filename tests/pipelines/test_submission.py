"""Submitting runs over raw HTTP: the body and 201 response of the contract, field by field."""

import pytest

from pipelines.models import Experiment, PipelineRun
from studio.models import Role


@pytest.fixture
def contributor(tokens):
    return tokens["contributor"]


def published_runs(studio):
    return f"/published-pipelines/{studio.published.pk}/runs"


def endpoint_runs(studio):
    return f"/pipeline-endpoints/{studio.endpoint.pk}/runs"


def run_count():
    return PipelineRun.objects.count()


def test_submit_to_published_pipeline_returns_the_contract_response(api, studio, contributor):
    response = api.post(
        published_runs(studio),
        contributor,
        json={
            "ExperimentName": "My_Pipeline",
            "ParameterAssignments": {"epochs": 20},
            "RunSource": "API",
            "Description": "nightly",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "Id",
        "Status",
        "ExperimentName",
        "PipelineId",
        "PipelineEndpointId",
        "PipelineVersion",
        "ParameterAssignments",
        "RunUrl",
        "CreatedTime",
    }
    run = PipelineRun.objects.get(pk=int(body["Id"]))
    assert body["Status"] in {"Queued", "NotStarted"}
    assert body["ExperimentName"] == "My_Pipeline"
    assert body["PipelineId"] == str(studio.published.pk)
    assert body["PipelineEndpointId"] is None and body["PipelineVersion"] is None
    assert body["ParameterAssignments"] == {
        "epochs": 20,
        "rate": 0.5,
        "label": "x",
        "shuffle": True,
    }
    assert body["RunUrl"].startswith(api.base_url) and body["RunUrl"].endswith(f"/{run.pk}/")
    assert run.description == "nightly" and run.published_pipeline_id == studio.published.pk
    assert run.parameters["epochs"] == 20


def test_submit_to_endpoint_runs_the_default_version_when_none_is_named(api, studio, contributor):
    response = api.post(endpoint_runs(studio), contributor, json={"ExperimentName": "Exp"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["PipelineEndpointId"] == str(studio.endpoint.pk)
    assert body["PipelineVersion"] == "0"
    assert body["PipelineId"] == str(studio.published.pk)


def test_submit_to_endpoint_runs_the_named_version(api, studio, contributor):
    second = studio.published.publish_from(
        studio.pipeline, name="Train", version="2.0", by=studio.team.admin
    )
    studio.endpoint.add_version(second, by=studio.team.admin)
    response = api.post(
        endpoint_runs(studio), contributor, json={"ExperimentName": "Exp", "PipelineVersion": "1"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["PipelineVersion"] == "1"
    assert response.json()["PipelineId"] == str(second.pk)
    default = api.post(endpoint_runs(studio), contributor, json={"ExperimentName": "Exp"})
    assert default.json()["PipelineVersion"] == "0"


def test_unknown_endpoint_version_is_404_listing_the_versions(api, studio, contributor):
    before = run_count()
    response = api.post(
        endpoint_runs(studio), contributor, json={"ExperimentName": "E", "PipelineVersion": "7"}
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "'7'" in error["message"] and "versions are: 0" in error["message"]
    assert run_count() == before


@pytest.mark.parametrize(
    "assignments, field",
    [
        ({"epochs": "twenty"}, "ParameterAssignments.epochs"),
        ({"epochs": 2.5}, "ParameterAssignments.epochs"),
        ({"epochs": True}, "ParameterAssignments.epochs"),
        ({"rate": "fast"}, "ParameterAssignments.rate"),
        ({"shuffle": "maybe"}, "ParameterAssignments.shuffle"),
        ({"label": None}, "ParameterAssignments.label"),
        ({"nope": 1}, "ParameterAssignments.nope"),
        # Values no process could be started with: refused now, not at run time.
        ({"epochs": 10**30}, "ParameterAssignments.epochs"),
        ({"epochs": 2**63}, "ParameterAssignments.epochs"),
        ({"epochs": str(-(2**63) - 1)}, "ParameterAssignments.epochs"),
        ({"label": "x" * 200_000}, "ParameterAssignments.label"),
        ({"label": "é" * 40_000}, "ParameterAssignments.label"),
    ],
)
def test_bad_parameter_assignments_are_400_naming_the_field(
    api, studio, contributor, assignments, field
):
    before = run_count()
    response = api.post(
        published_runs(studio),
        contributor,
        json={"ExperimentName": "E", "ParameterAssignments": assignments},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["message"]
    assert [d["field"] for d in error["details"]] == [field]
    assert run_count() == before


@pytest.mark.parametrize(
    "assignments, resolved",
    [
        ({"epochs": "20"}, {"epochs": 20}),
        ({"epochs": 20.0}, {"epochs": 20}),
        ({"shuffle": "false"}, {"shuffle": False}),
        ({"shuffle": False}, {"shuffle": False}),
        ({"rate": "0.25"}, {"rate": 0.25}),
        ({"rate": 1}, {"rate": 1.0}),
        ({}, {"epochs": 10}),
    ],
)
def test_parameter_values_are_coerced_to_the_parameter_type(
    api, studio, contributor, assignments, resolved
):
    response = api.post(
        published_runs(studio),
        contributor,
        json={"ExperimentName": "E", "ParameterAssignments": assignments},
    )
    assert response.status_code == 201, response.text
    for name, value in resolved.items():
        got = response.json()["ParameterAssignments"][name]
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "ExperimentName"),
        ({"ExperimentName": ""}, "ExperimentName"),
        ({"ExperimentName": "   "}, "ExperimentName"),
        ({"ExperimentName": "x" * 256}, "ExperimentName"),
        ({"ExperimentName": "bad\nname"}, "ExperimentName"),
        ({"ExperimentName": "bad\x07name"}, "ExperimentName"),
        ({"ExperimentName": 42}, "ExperimentName"),
        ({"ExperimentName": "E", "ParameterAssignments": [1, 2]}, "ParameterAssignments"),
        ({"ExperimentName": "E", "RunSource": "Carrier pigeon"}, "RunSource"),
        ({"ExperimentName": "E", "Description": 5}, "Description"),
        ({"ExperimentName": "E", "PipelineVersion": "0"}, "PipelineVersion"),
        ({"ExperimentName": "E", "Surprise": 1}, "Surprise"),
    ],
)
def test_bad_bodies_are_400_naming_the_field_and_write_nothing(
    api, studio, contributor, body, field
):
    before, experiments = run_count(), Experiment.objects.count()
    response = api.post(published_runs(studio), contributor, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [d["field"] for d in error["details"]]
    assert field in error["message"]
    assert (run_count(), Experiment.objects.count()) == (before, experiments)


def test_experiment_name_of_255_characters_is_accepted(api, studio, contributor):
    name = "é" * 255
    response = api.post(published_runs(studio), contributor, json={"ExperimentName": name})
    assert response.status_code == 201, response.text
    assert response.json()["ExperimentName"] == name


def test_invalid_json_is_400(api, studio, contributor):
    before = run_count()
    response = api.post(
        published_runs(studio),
        contributor,
        data=b'{"ExperimentName": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert run_count() == before


def test_wrong_content_type_is_415(api, studio, contributor):
    before = run_count()
    response = api.post(
        published_runs(studio),
        contributor,
        data="ExperimentName=E",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["message"]
    assert run_count() == before


def test_body_over_one_mebibyte_is_413(api, studio, contributor):
    before = run_count()
    body = b'{"ExperimentName": "E", "Description": "' + b"x" * (1024 * 1024) + b'"}'
    response = api.post(
        published_runs(studio), contributor, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert run_count() == before


def test_disabled_published_pipeline_refuses_runs_with_409_naming_it(api, studio, contributor):
    studio.published.disable(by=studio.team.admin)
    before = run_count()
    response = api.post(published_runs(studio), contributor, json={"ExperimentName": "E"})
    assert response.status_code == 409
    assert "Train 1.0" in response.json()["error"]["message"]
    endpoint = api.post(endpoint_runs(studio), contributor, json={"ExperimentName": "E"})
    assert endpoint.status_code == 409
    assert "Train 1.0" in endpoint.json()["error"]["message"]
    assert run_count() == before


def test_disabled_endpoint_refuses_runs_with_409_naming_it(api, studio, contributor):
    studio.endpoint.disable(by=studio.team.admin)
    before = run_count()
    response = api.post(endpoint_runs(studio), contributor, json={"ExperimentName": "E"})
    assert response.status_code == 409
    assert "TrainEndpoint" in response.json()["error"]["message"]
    assert run_count() == before


def test_reader_cannot_submit(api, studio, tokens):
    response = api.post(published_runs(studio), tokens["reader"], json={"ExperimentName": "E"})
    assert response.status_code == 403
    assert "Contributor" in response.json()["error"]["message"]


def test_run_url_uses_studio_base_url_when_set(api, studio, contributor, settings):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    response = api.post(published_runs(studio), contributor, json={"ExperimentName": "E"})
    assert response.json()["RunUrl"].startswith("https://studio.example.com/")


def test_submit_by_api_token_records_the_token_as_submitter(api, studio):
    secret = studio.team.token(Role.CONTRIBUTOR)
    response = api.post(published_runs(studio), secret, json={"ExperimentName": "E"})
    run = PipelineRun.objects.get(pk=int(response.json()["Id"]))
    assert run.submitted_by_label == f"token test {Role.CONTRIBUTOR}"
    assert run.submitted_by == studio.team.admin


@pytest.mark.parametrize(
    "raw, field",
    [
        (b'{"ExperimentName": "a\\ud800b"}', "ExperimentName"),
        (b'{"ExperimentName": "E", "Description": "a\\u0000b"}', "Description"),
        (
            b'{"ExperimentName": "E", "ParameterAssignments": {"label": "\\udfff"}}',
            "ParameterAssignments.label",
        ),
        (
            b'{"ExperimentName": "E", "ParameterAssignments": {"x\\u0000": 1}}',
            "ParameterAssignments.x\x00",
        ),
    ],
)
def test_text_no_database_can_store_is_400_naming_the_field(api, studio, contributor, raw, field):
    before = run_count()
    response = api.post(
        published_runs(studio), contributor, data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert run_count() == before


def test_surrogate_pairs_are_ordinary_text(api, studio, contributor):
    raw = b'{"ExperimentName": "\\ud83d\\ude00 run"}'
    response = api.post(
        published_runs(studio), contributor, data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["ExperimentName"] == "\N{GRINNING FACE} run"


def test_deeply_nested_json_is_400(api, studio, contributor):
    raw = b"[" * 100_000 + b"]" * 100_000
    response = api.post(
        published_runs(studio), contributor, data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    ["/runs?experiment=%00", "/pipeline-endpoints?name=a%00", "/pipeline-endpoints/by-name/%00"],
)
def test_nul_in_paths_and_queries_is_400(api, studio, tokens, path):
    response = api.get(path, tokens["reader"])
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]


def test_nan_and_infinity_are_not_json(api, studio, contributor):
    raw = b'{"ExperimentName": "E", "ParameterAssignments": {"label": NaN}}'
    response = api.post(
        published_runs(studio), contributor, data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "NaN is not a JSON number" in response.json()["error"]["message"]
