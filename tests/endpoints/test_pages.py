"""The "Pipeline endpoints" list, the endpoint page's tabs, "Set as default" and "Submit"."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from endpoints.models import PipelineEndpoint
from pipelines.models import PipelineRun
from tests.fixtures.pages import graph

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def signed_in(client, user):
    client.force_login(user)
    return client


def queries_for(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries)


def test_list_shows_default_version_and_last_run(client, team, studio_data):
    first, second = studio_data.published("A"), studio_data.published("B")
    endpoint = studio_data.endpoint("Scoring", [first, second], default=1, description="Scores")
    studio_data.run(endpoint=endpoint, status="Failed")
    page = signed_in(client, team.reader).get(reverse("endpoints:endpoint_list")).content.decode()
    assert "Scoring" in page and "Scores" in page
    assert reverse("endpoints:endpoint_detail", args=[endpoint.pk]) in page
    row = page[page.index("Scoring") :]
    assert "<td>1</td>" in row  # the default version
    assert "status-failed" in row


def test_search_filters_by_name_and_description_as_a_fragment(client, team, studio_data):
    studio_data.endpoint("Churn model")
    studio_data.endpoint("Forecast", description="weekly churn numbers")
    studio_data.endpoint("Images")
    response = signed_in(client, team.reader).get(
        reverse("endpoints:endpoint_list"), {"q": "churn"}, **HTMX
    )
    page = response.content.decode()
    assert "<html" not in page  # only the results fragment
    assert "Churn model" in page and "Forecast" in page and "Images" not in page


def test_search_without_match_says_so(client, team, studio_data):
    studio_data.endpoint("Churn model")
    page = signed_in(client, team.reader).get(reverse("endpoints:endpoint_list"), {"q": "zzz"})
    assert "No endpoint matches “zzz”" in page.content.decode()


def test_empty_workspace_explains_how_to_publish(client, team):
    page = signed_in(client, team.reader).get(reverse("endpoints:endpoint_list"))
    assert "No pipeline endpoints yet" in page.content.decode()


def test_list_runs_the_same_queries_for_1_and_50_endpoints(client, team, studio_data):
    signed_in(client, team.reader)
    url = reverse("endpoints:endpoint_list")
    endpoint = studio_data.endpoint("E000")
    studio_data.run(endpoint=endpoint)
    one = queries_for(client, url)
    for i in range(1, 50):
        endpoint = studio_data.endpoint(f"E{i:03}")
        studio_data.run(endpoint=endpoint)
    assert queries_for(client, url) == one
    assert "E024" in client.get(url).content.decode()  # the first page holds 25 rows


def test_endpoint_of_another_workspace_is_404(client, team, studio_data):
    theirs = studio_data.endpoint("Theirs", workspace=team.other_workspace)
    signed_in(client, team.admin)
    for name in ("endpoint_detail", "endpoint_versions", "endpoint_submit"):
        assert client.get(reverse(f"endpoints:{name}", args=[theirs.pk])).status_code == 404


def test_overview_shows_rest_url_with_copy_and_parameters(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    page = signed_in(client, team.reader).get(
        reverse("endpoints:endpoint_detail", args=[endpoint.pk])
    )
    html = page.content.decode()
    assert f"http://testserver/api/v1/pipeline-endpoints/{endpoint.pk}/runs" in html
    assert 'data-copy-target="rest-url"' in html and ">Copy<" in html
    for tab in ("Overview", "Versions", "Runs", "Consume"):
        assert f">{tab}</a>" in html
    assert "pipeline_arg" in html


def test_consume_tab_has_snippets_with_url_and_parameter_defaults(client, team, studio_data):
    published = studio_data.published(graph=graph({"pipeline_arg": 10, "mode": "fast"}))
    endpoint = studio_data.endpoint("Scoring", [published])
    html = (
        signed_in(client, team.reader)
        .get(reverse("endpoints:endpoint_consume", args=[endpoint.pk]))
        .content.decode()
    )
    url = f"http://testserver/api/v1/pipeline-endpoints/{endpoint.pk}/runs"
    assert html.count(url) >= 3  # header, curl, requests
    assert "curl -X POST" in html and "requests.post(" in html
    assert "PipelineEndpoint.get(workspace=ws, name=&#x27;Scoring&#x27;)" in html
    assert "&quot;pipeline_arg&quot;: 10" in html and "&quot;mode&quot;: &quot;fast&quot;" in html


def test_versions_tab_offers_set_as_default_to_admins_only(client, team, studio_data):
    endpoint = studio_data.endpoint(
        "Scoring", [studio_data.published("A"), studio_data.published("B")]
    )
    url = reverse("endpoints:endpoint_versions", args=[endpoint.pk])
    assert "Set as default" in signed_in(client, team.admin).get(url).content.decode()
    for person in (team.contributor, team.reader):
        assert "Set as default" not in signed_in(client, person).get(url).content.decode()


def test_admin_sets_an_older_version_as_default(client, team, studio_data):
    endpoint = studio_data.endpoint(
        "Scoring", [studio_data.published("A"), studio_data.published("B")], default=1
    )
    response = signed_in(client, team.admin).post(
        reverse("endpoints:set_default_version", args=[endpoint.pk]), {"version": "0"}
    )
    assert response.status_code == 302
    assert endpoint.versions.get(is_default=True).version == "0"
    assert "Version 0 is now the default." in client.get(response.url).content.decode()


@pytest.mark.parametrize("role", ["contributor", "reader"])
def test_forged_set_default_by_non_admin_is_403_and_changes_nothing(
    client, team, studio_data, role
):
    endpoint = studio_data.endpoint(
        "Scoring", [studio_data.published("A"), studio_data.published("B")], default=1
    )
    response = signed_in(client, getattr(team, role)).post(
        reverse("endpoints:set_default_version", args=[endpoint.pk]), {"version": "0"}
    )
    assert response.status_code == 403
    assert endpoint.versions.get(is_default=True).version == "1"


def test_unknown_version_is_a_clear_message(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    response = signed_in(client, team.admin).post(
        reverse("endpoints:set_default_version", args=[endpoint.pk]), {"version": "7"}, follow=True
    )
    assert "has no version &#x27;7&#x27;" in response.content.decode()


def test_runs_tab_filters_by_status_and_version(client, team, studio_data):
    endpoint = studio_data.endpoint(
        "Scoring", [studio_data.published("A"), studio_data.published("B")]
    )
    finished = studio_data.run(endpoint=endpoint, status="Finished")
    failed = studio_data.run(endpoint=endpoint, status="Failed")
    other = studio_data.run(endpoint=endpoint, status="Failed", endpoint_version="1")
    url = reverse("endpoints:endpoint_runs", args=[endpoint.pk])
    html = signed_in(client, team.reader).get(url, {"status": "Failed", "version": "0"}).content
    html = html.decode()
    assert f"Run {failed.pk}<" in html
    assert f"Run {finished.pk}<" not in html and f"Run {other.pk}<" not in html


def test_submit_form_has_a_field_per_parameter_typed_by_default(client, team, studio_data):
    published = studio_data.published(
        graph=graph({"n_estimators": 10, "test_size": 0.25, "note": "x", "shuffle": True})
    )
    endpoint = studio_data.endpoint("Scoring", [published])
    html = (
        signed_in(client, team.contributor)
        .get(reverse("endpoints:endpoint_submit", args=[endpoint.pk]))
        .content.decode()
    )
    assert '<label for="id_experiment_name">Experiment name</label>' in html
    assert 'type="number" name="p_n_estimators" value="10" step="1"' in html
    assert 'type="number" name="p_test_size" value="0.25" step="any"' in html
    assert 'type="text" name="p_note" value="x"' in html
    assert 'type="checkbox" name="p_shuffle"' in html and "checked" in html
    assert 'name="pipeline_version"' in html and "(default)" in html


def test_submit_with_a_bad_value_shows_the_error_beside_the_field(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    response = signed_in(client, team.contributor).post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        {"experiment_name": "Exp", "p_pipeline_arg": "twenty", "pipeline_version": "0"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    errors = html[html.index('id="id_p_pipeline_arg"') :]
    # The error list is the one the field's aria-describedby names.
    assert 'aria-describedby="id_p_pipeline_arg_helptext id_p_pipeline_arg_error"' in html
    assert 'id="id_p_pipeline_arg_error"' in errors[:600]
    assert "pipeline_arg" in errors[:600]
    assert not PipelineRun.objects.exists()


def test_submit_without_experiment_name_is_refused(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    response = signed_in(client, team.contributor).post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        {"experiment_name": "", "p_pipeline_arg": "3", "pipeline_version": "0"},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not PipelineRun.objects.exists()


def test_submit_runs_the_chosen_version_and_leads_to_the_run_page(client, team, studio_data):
    endpoint = studio_data.endpoint(
        "Scoring", [studio_data.published("A"), studio_data.published("B")]
    )
    response = signed_in(client, team.contributor).post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        {"experiment_name": "Exp", "p_pipeline_arg": "20", "pipeline_version": "1"},
    )
    run = PipelineRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("pipelines:run_detail", args=[run.pk])
    assert run.parameters == {"pipeline_arg": 20}
    assert run.endpoint_version == "1" and run.pipeline_endpoint == endpoint
    assert run.run_source == "Studio" and run.submitted_by == team.contributor


def test_reader_cannot_submit(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    response = signed_in(client, team.reader).post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        {"experiment_name": "Exp", "p_pipeline_arg": "20", "pipeline_version": "0"},
    )
    assert response.status_code == 403
    assert not PipelineRun.objects.exists()


def test_submit_to_a_disabled_endpoint_is_refused_with_a_message(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring", status=PipelineEndpoint.Status.DISABLED)
    response = signed_in(client, team.contributor).post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]),
        {"experiment_name": "Exp", "p_pipeline_arg": "20", "pipeline_version": "0"},
    )
    assert response.status_code == 400
    assert "is disabled" in response.content.decode()
    assert not PipelineRun.objects.exists()


def test_html_in_names_and_descriptions_is_shown_as_text(client, team, studio_data):
    published = studio_data.published("<b>bold</b>", description="<script>alert(1)</script>")
    endpoint = studio_data.endpoint(
        "<img src=x onerror=alert(1)>", [published], description="<i>desc</i>"
    )
    signed_in(client, team.admin)
    for url in (
        reverse("endpoints:endpoint_list"),
        reverse("endpoints:endpoint_detail", args=[endpoint.pk]),
        reverse("endpoints:endpoint_versions", args=[endpoint.pk]),
        reverse("pipelines:published_detail", args=[published.pk]),
    ):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html and "<b>bold" not in html and "<script>alert" not in html
        assert "<i>desc" not in html


def test_rest_url_uses_the_public_address_when_configured(client, team, studio_data, settings):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    endpoint = studio_data.endpoint("Scoring")
    html = (
        signed_in(client, team.reader)
        .get(reverse("endpoints:endpoint_consume", args=[endpoint.pk]))
        .content.decode()
    )
    assert f"https://studio.example.com/api/v1/pipeline-endpoints/{endpoint.pk}/runs" in html
    assert "Workspace(url=&#x27;https://studio.example.com&#x27;" in html


def test_the_version_picker_shows_that_versions_fields_and_submits_nothing(
    client, team, studio_data
):
    wide = studio_data.published("B", graph=graph({"pipeline_arg": 30, "window": "7d"}))
    endpoint = studio_data.endpoint("Scoring", [studio_data.published("A"), wide])
    url = reverse("endpoints:endpoint_submit", args=[endpoint.pk])
    typed = {
        "experiment_name": "Mine",
        "description": "why",
        "tags": "team=a",
        "p_pipeline_arg": "5",
    }
    signed_in(client, team.contributor)
    response = client.post(url, {**typed, "pipeline_version": "1", "change_version": "1"})
    assert response.status_code == 200 and not PipelineRun.objects.exists()
    html = response.content.decode()
    assert 'name="p_window" value="7d"' in html
    assert 'name="p_pipeline_arg" value="30"' in html  # the version's default, not 5
    assert 'name="experiment_name" value="Mine"' in html and ">\nwhy</textarea>" in html
    assert 'name="tags" value="team=a"' in html and "errorlist" not in html
    # In the dialog its answer is the dialog's content; on the page, the form alone.
    dialog = client.post(
        url,
        {**typed, "pipeline_version": "1", "change_version": "1"},
        headers={"HX-Request": "true", "HX-Target": "submit-dialog-body"},
    ).content.decode()
    assert (
        dialog.lstrip().startswith('<h2 id="submit-dialog-title">')
        and 'hx-target="#submit-dialog-body"' in dialog
    )
    alone = client.post(
        url,
        {**typed, "pipeline_version": "0", "change_version": "1"},
        headers={"HX-Request": "true", "HX-Target": "submit-form"},
    ).content.decode()
    assert alone.lstrip().startswith('<form id="submit-form"') and "p_window" not in alone


@pytest.mark.parametrize(
    "posted",
    [
        {"pipeline_version": "99"},  # no such version: the default one
        {"pipeline_version": "'; drop table x"},
        {"experiment_name": "x" * 100_000},  # cut to the field's length
        {},
    ],
)
def test_the_version_picker_takes_bad_input_calmly(client, team, studio_data, posted):
    endpoint = studio_data.endpoint("Scoring")
    signed_in(client, team.reader)  # showing a version needs no Contributor: it writes nothing
    response = client.post(
        reverse("endpoints:endpoint_submit", args=[endpoint.pk]), {**posted, "change_version": "1"}
    )
    assert response.status_code == 200 and not PipelineRun.objects.exists()
    html = response.content.decode()
    assert '<option value="0" selected>' in html
    assert "x" * 256 not in html
