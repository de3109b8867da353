"""The endpoint list's Status column, "Show disabled" and sorting; an endpoint whose default
version is disabled says so and offers no Submit."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints.models import PipelineEndpoint
from pipelines.models import PublishedPipeline

pytestmark = pytest.mark.django_db


def names(html):
    return re.findall(r'<td><a href="/endpoints/\d+/">([^<]+)</a></td>', html)


@pytest.fixture
def endpoints(studio_data):
    old = timezone.now() - timedelta(days=3)
    alpha = studio_data.endpoint("Alpha")
    beta = studio_data.endpoint("Beta", status=PipelineEndpoint.Status.DISABLED)
    retired = studio_data.published("Gamma pipeline", status=PublishedPipeline.Status.DISABLED)
    gamma = studio_data.endpoint("Gamma", [retired])
    PipelineEndpoint.objects.filter(pk=alpha.pk).update(updated_at=old)
    studio_data.run(endpoint=gamma)
    return alpha, beta, gamma


def test_status_column_and_disabled_hidden_until_asked(client, team, endpoints):
    client.force_login(team.reader)
    url = reverse("endpoints:endpoint_list")
    html = client.get(url).content.decode()
    assert names(html) == ["Alpha", "Gamma"]
    assert '<span class="status status-active">Active</span>' in html
    assert ">Default version disabled</span>" in html
    html = client.get(url, {"show_disabled": "on"}).content.decode()
    assert names(html) == ["Alpha", "Beta", "Gamma"]
    assert '<span class="status status-disabled">Disabled</span>' in html


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["Alpha", "Beta", "Gamma"]),
        ("-name", ["Gamma", "Beta", "Alpha"]),
        ("-last_run", ["Gamma", "Alpha", "Beta"]),  # never run last
        ("updated", ["Alpha", "Beta", "Gamma"]),
        ("-updated", ["Beta", "Gamma", "Alpha"]),
        ("'; drop", ["Alpha", "Beta", "Gamma"]),
    ],
)
def test_sorting(client, team, endpoints, sort, expected):
    client.force_login(team.reader)
    html = client.get(reverse("endpoints:endpoint_list"), {"show_disabled": "on", "sort": sort})
    got = names(html.content.decode())
    if sort == "-updated":  # Beta and Gamma were made in the same instant, in that order
        assert got[-1] == "Alpha"
    else:
        assert got == expected


def test_only_disabled_endpoints_left_says_how_to_see_them(client, team, studio_data):
    studio_data.endpoint("Beta", status=PipelineEndpoint.Status.DISABLED)
    client.force_login(team.reader)
    html = client.get(reverse("endpoints:endpoint_list")).content.decode()
    assert "No active pipeline endpoints" in html and "Show disabled" in html


def test_default_version_disabled_offers_no_submit(client, team, endpoints):
    alpha, _, gamma = endpoints
    client.force_login(team.contributor)
    html = client.get(reverse("endpoints:endpoint_detail", args=[gamma.pk])).content.decode()
    assert "Default version 0 is disabled" in html
    assert reverse("endpoints:endpoint_submit", args=[gamma.pk]) not in html
    html = client.get(reverse("endpoints:endpoint_detail", args=[alpha.pk])).content.decode()
    assert reverse("endpoints:endpoint_submit", args=[alpha.pk]) in html


def test_disabling_an_endpoint_from_its_page_says_so(client, team, endpoints):
    alpha = endpoints[0]
    client.force_login(team.admin)
    response = client.post(reverse("endpoints:endpoint_disable", args=[alpha.pk]), follow=True)
    assert "“Alpha” is now Disabled." in response.content.decode()
