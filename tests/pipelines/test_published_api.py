"""Published pipelines over raw HTTP: publish from a pipeline or a run, get, list, disable."""

import pytest

from pipelines.models import PublishedPipeline
from studio.models import AuditEvent


def test_publish_a_draft_pipeline(api, studio, tokens):
    response = api.post(
        f"/pipelines/{studio.pipeline.pk}/publish",
        tokens["contributor"],
        json={
            "Name": "My_Published_Pipeline",
            "Description": "trains",
            "Version": "1.1",
            "ContinueOnStepFailure": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["Name"] == "My_Published_Pipeline" and body["Version"] == "1.1"
    assert body["Description"] == "trains" and body["Status"] == "Active"
    assert body["ContinueOnStepFailure"] is True
    assert body["Endpoint"] == api.url(f"/published-pipelines/{body['Id']}/runs")
    assert body["PublishedBy"] == "token test contributor"
    assert [p["Name"] for p in body["Parameters"]] == ["epochs", "rate", "label", "shuffle"]
    assert body["Graph"] == studio.pipeline.graph
    event = AuditEvent.objects.get(action="published_pipeline.published", object_id=body["Id"])
    assert event.actor_label == "token test contributor"


def test_publish_from_a_run_freezes_the_graph_it_ran(api, studio, tokens):
    ran = studio.run.graph
    studio.pipeline.graph = {**studio.pipeline.graph, "parameters": []}
    studio.pipeline.save()
    response = api.post(
        f"/runs/{studio.run.pk}/publish", tokens["contributor"], json={"Name": "From run"}
    )
    assert response.status_code == 201, response.text
    published = PublishedPipeline.objects.get(pk=int(response.json()["Id"]))
    assert published.graph == ran and published.source_run_id == studio.run.pk


def test_published_graph_does_not_follow_later_changes(api, studio, tokens):
    studio.pipeline.graph = {**studio.pipeline.graph, "parameters": []}
    studio.pipeline.save()
    body = api.get(f"/published-pipelines/{studio.published.pk}", tokens["reader"]).json()
    assert [p["Name"] for p in body["Parameters"]] == ["epochs", "rate", "label", "shuffle"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "Name"),
        ({"Name": ""}, "Name"),
        ({"Name": "x" * 256}, "Name"),
        ({"Name": "ok", "Version": "v" * 65}, "Version"),
        ({"Name": "ok", "ContinueOnStepFailure": "sometimes"}, "ContinueOnStepFailure"),
        ({"Name": "ok", "Extra": 1}, "Extra"),
    ],
)
def test_bad_publish_bodies_are_400_and_publish_nothing(api, studio, tokens, body, field):
    before = PublishedPipeline.objects.count()
    response = api.post(
        f"/pipelines/{studio.pipeline.pk}/publish", tokens["contributor"], json=body
    )
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert PublishedPipeline.objects.count() == before


def test_disable_hides_from_list_and_enable_brings_back(api, studio, tokens):
    path = f"/published-pipelines/{studio.published.pk}"
    off = api.post(f"{path}/disable", tokens["admin"])
    assert off.status_code == 200 and off.json()["Status"] == "Disabled"
    assert api.get("/published-pipelines", tokens["reader"]).json()["Items"] == []
    listed = api.get("/published-pipelines?include_disabled=true", tokens["reader"]).json()
    assert [p["Status"] for p in listed["Items"]] == ["Disabled"]
    assert api.get(path, tokens["reader"]).json()["Status"] == "Disabled"
    on = api.post(f"{path}/enable", tokens["admin"])
    assert on.json()["Status"] == "Active"
    assert len(api.get("/published-pipelines", tokens["reader"]).json()["Items"]) == 1
    actions = list(
        AuditEvent.objects.filter(object_type="PublishedPipeline")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["published_pipeline.disabled", "published_pipeline.enabled"]


def test_disabling_twice_writes_one_audit_event(api, studio, tokens):
    path = f"/published-pipelines/{studio.published.pk}/disable"
    api.post(path, tokens["admin"])
    api.post(path, tokens["admin"])
    assert AuditEvent.objects.filter(action="published_pipeline.disabled").count() == 1


def test_contributor_cannot_disable(api, studio, tokens):
    response = api.post(
        f"/published-pipelines/{studio.published.pk}/disable", tokens["contributor"]
    )
    assert response.status_code == 403
    assert "Admin" in response.json()["error"]["message"]
    studio.published.refresh_from_db()
    assert studio.published.is_active


def test_ids_that_are_not_numbers_or_too_large_are_client_errors(api, studio, tokens):
    for ident in ["abc", "99999999999999999999999", "-1", "0"]:
        response = api.get(f"/published-pipelines/{ident}", tokens["reader"])
        assert response.status_code in (400, 404), (ident, response.text)
        assert "error" in response.json()
