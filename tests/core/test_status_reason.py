"""Disable/Enable with a reason: kept with the status, in the audit log, over REST and SDK;
and many at once, all or nothing."""

import pytest

from core.errors import NotFound
from endpoints.models import PipelineEndpoint
from pipelines.models import PublishedPipeline
from pipelines.sdk import PublishedPipeline as SdkPublished
from studio.models import AuditEvent, Role


def test_disable_a_published_pipeline_with_a_reason_over_rest(api, studio, tokens):
    path = f"/published-pipelines/{studio.published.pk}"
    off = api.post(f"{path}/disable", tokens["admin"], json={"Reason": "data drift"})
    assert off.status_code == 200, off.text
    body = off.json()
    assert body["Status"] == "Disabled" and body["StatusReason"] == "data drift"
    assert body["StatusChangedBy"] == "token test admin" and body["StatusChangedTime"]
    event = AuditEvent.objects.get(action="published_pipeline.disabled")
    assert event.details == {"reason": "data drift"}
    # Without a body the reason is empty, as before.
    on = api.post(f"{path}/enable", tokens["admin"]).json()
    assert on["Status"] == "Active" and on["StatusReason"] == ""


def test_disable_an_endpoint_with_a_reason_over_rest(api, studio, tokens):
    path = f"/pipeline-endpoints/{studio.endpoint.pk}/disable"
    body = api.post(path, tokens["admin"], json={"Reason": "replaced by v2"}).json()
    assert body["Status"] == "Disabled" and body["StatusReason"] == "replaced by v2"
    studio.endpoint.refresh_from_db()
    assert studio.endpoint.status_reason == "replaced by v2"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"Reason": "x" * 501}, "Reason"), ({"Reason": 3}, "Reason"), ({"Why": "x"}, "Why")],
)
def test_bad_reasons_are_400_and_change_nothing(api, studio, tokens, payload, field):
    path = f"/published-pipelines/{studio.published.pk}/disable"
    response = api.post(path, tokens["admin"], json=payload)
    assert response.status_code == 400
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    studio.published.refresh_from_db()
    assert studio.published.is_active


def test_sdk_disable_takes_a_reason(sdk_workspace, studio):
    published = SdkPublished.get(sdk_workspace(Role.ADMIN), studio.published.pk)
    published.disable(reason="broken input data")
    assert published.status == "Disabled"
    assert published.get_details()["StatusReason"] == "broken input data"
    published.enable()
    assert published.status == "Active"


def test_many_at_once_is_all_or_nothing(team, studio_data):
    ours = [studio_data.published(f"P{n}") for n in range(3)]
    theirs = studio_data.published("Theirs", workspace=team.other_workspace)
    with pytest.raises(NotFound):
        PublishedPipeline.set_enabled_many(
            team.workspace,
            [p.pk for p in ours] + [theirs.pk],
            False,
            by=team.admin,
            reason="cleanup",
        )
    assert PublishedPipeline.objects.filter(status="Disabled").count() == 0
    PublishedPipeline.set_enabled_many(
        team.workspace, [p.pk for p in ours], False, by=team.admin, reason="x"
    )
    assert PublishedPipeline.objects.filter(status="Disabled").count() == 3
    events = AuditEvent.objects.filter(action="published_pipeline.disabled")
    assert sorted(e.object_id for e in events) == sorted(str(p.pk) for p in ours)
    assert {e.details["reason"] for e in events} == {"x"}
    endpoints = [studio_data.endpoint(f"E{n}") for n in range(2)]
    PipelineEndpoint.set_enabled_many(team.workspace, [e.pk for e in endpoints], False, by=None)
    assert PipelineEndpoint.objects.filter(status="Disabled").count() == 2
