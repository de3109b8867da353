"""The "Published pipelines" list, "Show disabled", "Disable"/"Enable" and the published page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipelines.models import PipelineRun, PublishedPipeline
from studio.models import AuditEvent
from tests.fixtures.pages import graph

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(client, user):
    client.force_login(user)
    return client


def test_disabled_pipelines_are_hidden_until_show_disabled(client, team, studio_data):
    studio_data.published("Active one")
    studio_data.published("Old one", status=PublishedPipeline.Status.DISABLED)
    url = reverse("pipelines:published_list")
    html = signed_in(client, team.reader).get(url).content.decode()
    assert "Active one" in html and "Old one" not in html
    html = client.get(url, {"show_disabled": "on"}).content.decode()
    assert "Active one" in html and "Old one" in html


def test_list_names_the_endpoints_using_each_pipeline(client, team, studio_data):
    published = studio_data.published("Shared")
    studio_data.endpoint("First", [published])
    studio_data.endpoint("Second", [studio_data.published("Other"), published])
    html = signed_in(client, team.reader).get(reverse("pipelines:published_list")).content
    row = html.decode().split(f'id="published-{published.pk}"')[1].split("</tr>")[0]
    assert 'First</a> <span class="muted">v0' in row and 'Second</a> <span class="muted">v1' in row


def test_list_runs_the_same_queries_for_1_and_50_pipelines(client, team, studio_data):
    signed_in(client, team.admin)
    url = reverse("pipelines:published_list")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    studio_data.endpoint("E0")
    one = count()
    for i in range(1, 50):
        studio_data.endpoint(f"E{i}")
    assert count() == one


def test_only_admins_see_disable(client, team, studio_data):
    studio_data.published("P")
    url = reverse("pipelines:published_list")
    assert ">Disable</button>" in signed_in(client, team.admin).get(url).content.decode()
    for person in (team.contributor, team.reader):
        assert ">Disable</button>" not in signed_in(client, person).get(url).content.decode()


def test_admin_disables_and_the_row_says_where_it_went(client, team, studio_data):
    published = studio_data.published("P")
    response = signed_in(client, team.admin).post(
        reverse("pipelines:published_disable", args=[published.pk]), **HTMX
    )
    html = response.content.decode()
    # The row becomes a note (the table never turns silently empty), and the message shows.
    assert response.status_code == 200
    assert f'<tr id="published-{published.pk}" class="notice-row">' in html
    assert "is now Disabled and hidden from this list" in html and "show_disabled=on" in html
    assert '<div id="messages" aria-live="polite" hx-swap-oob="true">' in html
    assert "“P 1.0” is now Disabled.</div>" in html
    published.refresh_from_db()
    assert published.status == "Disabled"
    assert AuditEvent.objects.filter(action="published_pipeline.disabled").count() == 1


def test_with_show_disabled_the_row_stays_with_enable(client, team, studio_data):
    published = studio_data.published("P", status=PublishedPipeline.Status.DISABLED)
    url = reverse("pipelines:published_enable", args=[published.pk]) + "?show_disabled=on"
    html = signed_in(client, team.admin).post(url, **HTMX).content.decode()
    assert html.strip().startswith(f'<tr id="published-{published.pk}">')
    assert ">Disable</button>" in html and "status-active" in html
    assert "“P 1.0” is now Active.</div>" in html
    url = reverse("pipelines:published_disable", args=[published.pk]) + "?show_disabled=on"
    html = client.post(url, **HTMX).content.decode()
    assert ">Enable</button>" in html and "status-disabled" in html


def test_disable_without_htmx_redirects_with_a_message(client, team, studio_data):
    published = studio_data.published("P")
    response = signed_in(client, team.admin).post(
        reverse("pipelines:published_disable", args=[published.pk]), follow=True
    )
    assert "“P 1.0” is now Disabled." in response.content.decode()


def test_disable_never_redirects_to_another_site(client, team, studio_data):
    published = studio_data.published("P")
    response = signed_in(client, team.admin).post(
        reverse("pipelines:published_disable", args=[published.pk]),
        {"next": "https://evil.example/"},
    )
    assert response.url == reverse("pipelines:published_list")


@pytest.mark.parametrize("role", ["contributor", "reader"])
@pytest.mark.parametrize("action", ["published_disable", "published_enable"])
def test_forged_toggle_by_non_admin_is_403(client, team, studio_data, role, action):
    published = studio_data.published("P")
    response = signed_in(client, getattr(team, role)).post(
        reverse(f"pipelines:{action}", args=[published.pk]), **HTMX
    )
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.status == "Active"
    assert not AuditEvent.objects.filter(action__startswith="published_pipeline.").exists()


def test_toggle_needs_post(client, team, studio_data):
    published = studio_data.published("P")
    url = reverse("pipelines:published_disable", args=[published.pk])
    assert signed_in(client, team.admin).get(url).status_code == 405


def test_pipeline_of_another_workspace_is_404(client, team, studio_data):
    theirs = studio_data.published("Theirs", workspace=team.other_workspace)
    signed_in(client, team.admin)
    assert client.get(reverse("pipelines:published_detail", args=[theirs.pk])).status_code == 404
    url = reverse("pipelines:published_disable", args=[theirs.pk])
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "Active"


def test_published_page_shows_graph_parameters_endpoints_and_runs(client, team, studio_data):
    published = studio_data.published("Trainer")
    endpoint = studio_data.endpoint("Scoring", [published])
    run = studio_data.run(published=published, endpoint=endpoint)
    html = (
        signed_in(client, team.reader)
        .get(reverse("pipelines:published_detail", args=[published.pk]))
        .content.decode()
    )
    assert '<svg class="dag"' in html and ">prepare</text>" in html and ">evaluate</text>" in html
    assert "pipeline_arg" in html and "Scoring</a> version 0 (default)" in html
    assert f"Run {run.pk}</a>" in html
    assert f"/api/v1/published-pipelines/{published.pk}/runs" in html


def test_submit_a_published_pipeline(client, team, studio_data):
    published = studio_data.published("Trainer")
    url = reverse("pipelines:published_submit", args=[published.pk])
    html = signed_in(client, team.contributor).get(url).content.decode()
    assert 'name="pipeline_version"' not in html
    response = client.post(url, {"experiment_name": "Exp", "p_pipeline_arg": "7"})
    run = PipelineRun.objects.get()
    assert response.url == reverse("pipelines:run_detail", args=[run.pk])
    assert run.published_pipeline == published and run.parameters == {"pipeline_arg": 7}


@pytest.mark.parametrize(
    "value, message",
    [("1" + "0" * 30, "integer"), (str(2**63), "64 bits"), ("x" * 200_000, "bytes")],
)
def test_submit_form_refuses_what_a_process_cannot_be_given(
    client, team, studio_data, value, message
):
    published = studio_data.published("Limits", graph=graph({"count": 1, "label": "x"}))
    url = reverse("pipelines:published_submit", args=[published.pk])
    field = "p_label" if value.startswith("x") else "p_count"
    response = signed_in(client, team.contributor).post(
        url, {"experiment_name": "Exp", "p_count": "1", "p_label": "x", field: value}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    assert not PipelineRun.objects.exists()
