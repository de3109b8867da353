"""Admins disable or enable several rows of a list at once, after one confirmation."""

import pytest
from django.urls import reverse

from endpoints.models import PipelineEndpoint
from pipelines.models import PublishedPipeline
from studio.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_confirmation_names_the_rows_and_post_switches_them_all(client, team, studio_data):
    chosen = [studio_data.published(name) for name in ("Alpha", "Beta", "Gamma")]
    untouched = studio_data.published("Delta")
    client.force_login(team.admin)
    url = reverse("pipelines:published_bulk")
    ids = [p.pk for p in chosen]
    confirm = client.get(url, {"action": "disable", "ids": ids}).content.decode()
    assert "Disable 3 published pipelines?" in confirm
    assert all(f"<li>{name} 1.0" in confirm for name in ("Alpha", "Beta", "Gamma"))
    assert "Delta" not in confirm
    done = client.post(url, {"action": "disable", "ids": ids, "reason": "quarterly cleanup"})
    assert done.status_code == 302
    assert set(
        PublishedPipeline.objects.filter(status="Disabled").values_list("pk", flat=True)
    ) == set(ids)
    untouched.refresh_from_db()
    assert untouched.is_active
    events = AuditEvent.objects.filter(action="published_pipeline.disabled")
    assert len(events) == 3 and {e.details["reason"] for e in events} == {"quarterly cleanup"}
    page = client.get(reverse("pipelines:published_detail", args=[ids[0]])).content.decode()
    assert "quarterly cleanup" in page


def test_endpoints_too_and_a_foreign_id_changes_nothing(client, team, studio_data):
    ours = [studio_data.endpoint(f"E{n}") for n in range(2)]
    theirs = studio_data.endpoint("Theirs", workspace=team.other_workspace)
    client.force_login(team.admin)
    url = reverse("endpoints:endpoint_bulk")
    ids = [e.pk for e in ours] + [theirs.pk]
    assert client.post(url, {"action": "disable", "ids": ids}).status_code == 404
    assert not PipelineEndpoint.objects.filter(status="Disabled").exists()
    client.post(url, {"action": "disable", "ids": ids[:2]})
    assert PipelineEndpoint.objects.filter(status="Disabled").count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {"action": "disable"},  # nothing selected
        {"action": "explode", "ids": ["1"]},
        {"action": "disable", "ids": ["x"]},
        {"action": "disable", "ids": [str(n) for n in range(1, 102)]},
        {"action": "disable", "ids": ["1"], "reason": "r" * 501},
    ],
)
def test_bad_selections_are_400_and_change_nothing(client, team, studio_data, data):
    studio_data.published("Alpha")
    client.force_login(team.admin)
    response = client.post(reverse("pipelines:published_bulk"), data)
    assert response.status_code == 400 and "Nothing was changed" in response.content.decode()
    assert not PublishedPipeline.objects.filter(status="Disabled").exists()


def test_contributors_cannot_bulk_switch(client, team, studio_data):
    published = studio_data.published("Alpha")
    client.force_login(team.contributor)
    response = client.post(
        reverse("pipelines:published_bulk"), {"action": "disable", "ids": [published.pk]}
    )
    assert response.status_code == 403
    assert "bulk-form" not in client.get(reverse("pipelines:published_list")).content.decode()


def test_single_disable_keeps_the_reason_and_refuses_an_overlong_one(client, team, studio_data):
    endpoint = studio_data.endpoint("Churn")
    client.force_login(team.admin)
    url = reverse("endpoints:endpoint_disable", args=[endpoint.pk])
    assert client.post(url, {"reason": "x" * 501}).status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.is_active
    client.post(url, {"reason": "replaced by Churn v2"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.status_reason == "replaced by Churn v2"
    page = client.get(reverse("endpoints:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert "Disabled by admin-user" in page and "replaced by Churn v2" in page
