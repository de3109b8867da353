"""Pipeline endpoints over raw HTTP: publish, get, list, versions, default, rename, archive."""

import pytest

from endpoints.models import PipelineEndpoint, PipelineEndpointVersion
from pipelines.models import PublishedPipeline
from studio.models import AuditEvent


@pytest.fixture
def second(studio):
    """A second published pipeline of the same pipeline, version "2.0"."""
    return PublishedPipeline.publish_from(
        studio.pipeline, name="Train", version="2.0", by=studio.team.admin
    )


def ep(studio, suffix=""):
    return f"/pipeline-endpoints/{studio.endpoint.pk}{suffix}"


def test_publish_endpoint_makes_version_0_the_default(api, studio, tokens):
    response = api.post(
        "/pipeline-endpoints",
        tokens["contributor"],
        json={"Name": "Nightly", "Description": "every night", "PipelineId": studio.published.pk},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["Name"] == "Nightly" and body["Description"] == "every night"
    assert body["Status"] == "Active" and body["DefaultVersion"] == "0"
    assert body["Endpoint"] == api.url(f"/pipeline-endpoints/{body['Id']}/runs")
    versions = api.get(f"/pipeline-endpoints/{body['Id']}/versions", tokens["reader"]).json()
    assert [(v["Version"], v["IsDefault"]) for v in versions["Items"]] == [("0", True)]
    assert versions["Items"][0]["PipelineId"] == str(studio.published.pk)
    assert AuditEvent.objects.filter(action="endpoint.published", object_id=body["Id"]).exists()


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"Name": "TrainEndpoint", "PipelineId": 0}, 404, None),
        ({"Name": "", "PipelineId": 1}, 400, "Name"),
        ({"Name": "x" * 256, "PipelineId": 1}, 400, "Name"),
        ({"PipelineId": 1}, 400, "Name"),
        ({"Name": "A"}, 400, "PipelineId"),
        ({"Name": "A", "PipelineId": "one"}, 400, "PipelineId"),
    ],
)
def test_publish_endpoint_refuses_bad_input(api, studio, tokens, body, status, field):
    before = PipelineEndpoint.objects.count()
    response = api.post("/pipeline-endpoints", tokens["contributor"], json=body)
    assert response.status_code == status, response.text
    if field:
        assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert PipelineEndpoint.objects.count() == before


def test_endpoint_names_are_unique_in_a_workspace(api, studio, tokens):
    before = PipelineEndpointVersion.objects.count()
    response = api.post(
        "/pipeline-endpoints",
        tokens["contributor"],
        json={"Name": "TrainEndpoint", "PipelineId": studio.published.pk},
    )
    assert response.status_code == 409
    assert "TrainEndpoint" in response.json()["error"]["message"]
    assert PipelineEndpointVersion.objects.count() == before


def test_published_pipeline_of_another_workspace_cannot_be_used(api, studio, tokens):
    response = api.post(
        "/pipeline-endpoints",
        tokens["other"],
        json={"Name": "Steal", "PipelineId": studio.published.pk},
    )
    assert response.status_code == 404
    assert not PipelineEndpoint.objects.filter(name="Steal").exists()


def test_get_endpoint_by_id_and_by_name(api, studio, tokens):
    by_id = api.get(ep(studio), tokens["reader"])
    by_name = api.get("/pipeline-endpoints/by-name/TrainEndpoint", tokens["reader"])
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.json()["DefaultVersion"] == "0"
    missing = api.get("/pipeline-endpoints/by-name/Nope", tokens["reader"])
    assert missing.status_code == 404 and "Nope" in missing.json()["error"]["message"]


def test_list_leaves_disabled_endpoints_out_unless_asked(api, studio, tokens):
    studio.endpoint.disable(by=studio.team.admin)
    names = [e["Name"] for e in api.get("/pipeline-endpoints", tokens["reader"]).json()["Items"]]
    assert names == []
    everything = api.get("/pipeline-endpoints?include_disabled=true", tokens["reader"]).json()
    assert [(e["Name"], e["Status"]) for e in everything["Items"]] == [
        ("TrainEndpoint", "Disabled")
    ]
    named = api.get("/pipeline-endpoints?include_disabled=true&name=Other", tokens["reader"])
    assert named.json()["Items"] == []


def test_add_versions_in_order_and_make_one_default(api, studio, tokens, second):
    added = api.post(ep(studio, "/versions"), tokens["contributor"], json={"PipelineId": second.pk})
    assert added.status_code == 201, added.text
    assert added.json()["Version"] == "1" and added.json()["IsDefault"] is False
    assert added.json()["PipelineVersion"] == "2.0"
    assert api.get(ep(studio), tokens["reader"]).json()["DefaultVersion"] == "0"
    also = api.post(
        ep(studio, "/versions"),
        tokens["admin"],
        json={"PipelineId": studio.published.pk, "SetDefault": True},
    )
    assert also.json()["Version"] == "2" and also.json()["IsDefault"] is True
    items = api.get(ep(studio, "/versions"), tokens["reader"]).json()["Items"]
    assert [(v["Version"], v["IsDefault"]) for v in items] == [
        ("0", False),
        ("1", False),
        ("2", True),
    ]
    assert AuditEvent.objects.filter(action="endpoint.version_added").count() == 2


def test_contributor_cannot_add_and_make_default(api, studio, tokens, second):
    response = api.post(
        ep(studio, "/versions"),
        tokens["contributor"],
        json={"PipelineId": second.pk, "SetDefault": True},
    )
    assert response.status_code == 403
    assert studio.endpoint.versions.count() == 1


def test_get_version_with_its_published_pipeline(api, studio, tokens):
    response = api.get(ep(studio, "/versions/0"), tokens["reader"])
    assert response.status_code == 200
    body = response.json()
    assert body["Version"] == "0" and body["IsDefault"] is True
    assert body["PublishedPipeline"]["Id"] == str(studio.published.pk)
    assert body["PublishedPipeline"]["Parameters"][0] == {
        "Name": "epochs",
        "Type": "int",
        "DefaultValue": 10,
    }
    missing = api.get(ep(studio, "/versions/5"), tokens["reader"])
    assert missing.status_code == 404
    assert "versions are: 0" in missing.json()["error"]["message"]


def test_set_default_version_and_roll_back(api, studio, tokens, second):
    studio.endpoint.add_version(second, by=studio.team.admin)
    forward = api.put(ep(studio, "/default-version"), tokens["admin"], json={"Version": "1"})
    assert forward.status_code == 200 and forward.json()["DefaultVersion"] == "1"
    run = api.post(ep(studio, "/runs"), tokens["contributor"], json={"ExperimentName": "E"})
    assert run.json()["PipelineVersion"] == "1"
    back = api.put(ep(studio, "/default-version"), tokens["admin"], json={"Version": "0"})
    assert back.json()["DefaultVersion"] == "0"
    event = AuditEvent.objects.filter(action="endpoint.default_changed").first()
    assert event.details == {"previous": "1", "default": "0"}
    assert event.actor_label == "token test admin"


def test_set_unknown_default_version_is_404_and_changes_nothing(api, studio, tokens):
    response = api.put(ep(studio, "/default-version"), tokens["admin"], json={"Version": "3"})
    assert response.status_code == 404
    assert "versions are: 0" in response.json()["error"]["message"]
    assert studio.endpoint.versions.get(is_default=True).number == 0


def test_rename_and_describe(api, studio, tokens):
    response = api.patch(
        ep(studio), tokens["admin"], json={"Name": "Renamed", "Description": "new words"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["Name"] == "Renamed"
    assert response.json()["Description"] == "new words"
    assert api.get("/pipeline-endpoints/by-name/Renamed", tokens["reader"]).status_code == 200
    event = AuditEvent.objects.get(action="endpoint.renamed")
    assert event.details == {"previous": "TrainEndpoint"}


def test_rename_to_a_taken_name_is_409(api, studio, tokens):
    PipelineEndpoint.publish(
        studio.team.workspace, name="Taken", published=studio.published, by=studio.team.admin
    )
    response = api.patch(ep(studio), tokens["admin"], json={"Name": "Taken"})
    assert response.status_code == 409
    studio.endpoint.refresh_from_db()
    assert studio.endpoint.name == "TrainEndpoint"


def test_disable_and_enable_endpoint(api, studio, tokens):
    off = api.post(ep(studio, "/disable"), tokens["admin"])
    assert off.status_code == 200 and off.json()["Status"] == "Disabled"
    refused = api.post(ep(studio, "/runs"), tokens["contributor"], json={"ExperimentName": "E"})
    assert refused.status_code == 409
    on = api.post(ep(studio, "/enable"), tokens["admin"])
    assert on.json()["Status"] == "Active"
    accepted = api.post(ep(studio, "/runs"), tokens["contributor"], json={"ExperimentName": "E"})
    assert accepted.status_code == 201
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"endpoint.disabled", "endpoint.enabled"} <= actions


def test_version_whose_published_pipeline_is_disabled_is_409(api, studio, tokens, second):
    studio.endpoint.add_version(second, by=studio.team.admin)
    second.disable(by=studio.team.admin)
    response = api.post(
        ep(studio, "/runs"),
        tokens["contributor"],
        json={"ExperimentName": "E", "PipelineVersion": "1"},
    )
    assert response.status_code == 409
    assert "Train 2.0" in response.json()["error"]["message"]
