"""Every list, in the REST API and in the studio, holds the caller's workspace's rows and
none of another's.

``rows`` makes the same kinds of rows in two workspaces ("team" and "other"), each named
after its workspace; every test asks one list as a member of each workspace and compares the
ids it holds with the ids it must hold, so a list that lost its workspace filter fails here
(a status code alone would not tell). A new list gets a test here; the permission matrices
(tests/studio/test_api_permissions.py, tests/test_site_permissions.py) check the same
boundary on every route.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from endpoints.models import PipelineEndpoint
from pipelines.models import Experiment, PipelineRun, PublishedPipeline
from schedules.models import Schedule
from studio.models import ApiToken, AuditEvent, Membership, Role

pytestmark = pytest.mark.usefixtures("fast_passwords")

SIDES = ("team", "other")


@dataclass
class Rows:
    """One workspace's rows of every listed kind."""

    admin: object
    secret: str  # an Admin API token of this workspace
    published: PublishedPipeline
    disabled: PublishedPipeline
    endpoint: PipelineEndpoint
    archived: PipelineEndpoint
    runs: list[PipelineRun]
    experiment: Experiment
    metric: str
    token: ApiToken
    events: list[AuditEvent]
    schedules: list[Schedule]  # one of the endpoint, one of the published pipeline


@pytest.fixture
def rows(team, studio_data) -> dict[str, Rows]:
    made = {}
    for side, workspace, admin in (
        ("team", team.workspace, team.admin),
        ("other", team.other_workspace, team.stranger),
    ):
        published = studio_data.published(f"{side}-pipeline", workspace=workspace)
        disabled = studio_data.published(
            f"{side}-retired", workspace=workspace, status=PublishedPipeline.Status.DISABLED
        )
        endpoint = studio_data.endpoint(f"{side}-endpoint", [published], workspace=workspace)
        archived = studio_data.endpoint(
            f"{side}-archived",
            [published],
            workspace=workspace,
            status=PipelineEndpoint.Status.DISABLED,
        )
        # One experiment name in both workspaces: each has its own experiment of that name.
        runs = [
            studio_data.run(endpoint=endpoint, experiment="Nightly", workspace=workspace),
            studio_data.run(published=published, experiment="Nightly", workspace=workspace),
        ]
        studio_data.metric(runs[0], f"{side}_accuracy", 0.9)
        token, secret = ApiToken.issue(
            workspace, name=f"{side}-token", role=Role.ADMIN, created_by=admin
        )
        schedules = [
            Schedule.create(
                workspace,
                target,
                {
                    "Name": f"{side}-{kind}-nightly",
                    "ExperimentName": "Nightly",
                    "Cron": "0 2 * * *",
                },
                by=admin,
            )
            for kind, target in (("endpoint", endpoint), ("pipeline", published))
        ]
        events = [
            AuditEvent.record(workspace, admin, "endpoint.renamed", endpoint),
            # Sign-ins have no workspace: each workspace sees its own members'.
            AuditEvent.record(None, admin, "user.signed_out_everywhere"),
        ]
        made[side] = Rows(
            admin=admin,
            secret=secret,
            published=published,
            disabled=disabled,
            endpoint=endpoint,
            archived=archived,
            runs=runs,
            experiment=runs[0].experiment,
            metric=f"{side}_accuracy",
            token=token,
            events=[*events, *AuditEvent.objects.filter(workspace=workspace, object_id=token.pk)],
            schedules=schedules,
        )
    return made


def pks(objects) -> set[int]:
    return {obj.pk for obj in objects}


def api_ids(client, path: str, secret: str, **params) -> set[int]:
    response = client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200, response.content[:300]
    return {int(item["Id"]) for item in response.json()["Items"]}


def page_pks(client, user, url: str) -> set[int]:
    """The ids of the rows on the studio page ``url`` as ``user`` sees it."""
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return pks(response.context["page"].object_list)


# --- REST API ----------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_api_runs_list_holds_the_callers_runs_only(client, rows, side):
    assert api_ids(client, "/runs", rows[side].secret) == pks(rows[side].runs)


@pytest.mark.parametrize("side", SIDES)
def test_api_runs_filtered_by_another_workspaces_endpoint_are_none(client, rows, side):
    mine, theirs = rows[side], rows[SIDES[1 - SIDES.index(side)]]
    assert api_ids(client, "/runs", mine.secret, endpoint_id=mine.endpoint.pk) == {mine.runs[0].pk}
    assert api_ids(client, "/runs", mine.secret, endpoint_id=theirs.endpoint.pk) == set()
    assert api_ids(client, "/runs", mine.secret, experiment="Nightly") == pks(mine.runs)


@pytest.mark.parametrize("side", SIDES)
def test_api_published_pipelines_list_holds_the_callers_only(client, rows, side):
    mine = rows[side]
    assert api_ids(client, "/published-pipelines", mine.secret) == {mine.published.pk}
    everything = api_ids(client, "/published-pipelines", mine.secret, include_disabled="true")
    assert everything == {mine.published.pk, mine.disabled.pk}


@pytest.mark.parametrize("side", SIDES)
def test_api_endpoints_list_holds_the_callers_only(client, rows, side):
    mine = rows[side]
    assert api_ids(client, "/pipeline-endpoints", mine.secret) == {mine.endpoint.pk}
    assert api_ids(client, "/pipeline-endpoints", mine.secret, include_disabled="true") == {
        mine.endpoint.pk,
        mine.archived.pk,
    }
    for other in SIDES:
        response = client.get(
            f"/api/v1/pipeline-endpoints/by-name/{other}-endpoint",
            HTTP_AUTHORIZATION=f"Bearer {mine.secret}",
        )
        assert response.status_code == (200 if other == side else 404)


@pytest.mark.parametrize("side", SIDES)
def test_api_tokens_list_holds_the_callers_only(client, rows, side):
    mine = rows[side]
    assert api_ids(client, "/tokens", mine.secret) == pks(
        ApiToken.objects.filter(workspace=mine.token.workspace)
    )
    assert mine.token.pk in api_ids(client, "/tokens", mine.secret)


@pytest.mark.parametrize("side", SIDES)
def test_api_audit_events_hold_the_callers_only(client, rows, side):
    mine, theirs = rows[side], rows[SIDES[1 - SIDES.index(side)]]
    seen = api_ids(client, "/audit-events", mine.secret)
    assert pks(mine.events) <= seen
    assert not pks(theirs.events) & seen
    assert seen == pks(AuditEvent.visible_in(mine.token.workspace))


@pytest.mark.parametrize("side", SIDES)
def test_api_schedules_list_holds_the_callers_only(client, rows, side):
    mine, theirs = rows[side], rows[SIDES[1 - SIDES.index(side)]]
    assert api_ids(client, "/schedules", mine.secret) == pks(mine.schedules)
    of_endpoint = api_ids(client, "/schedules", mine.secret, pipeline_endpoint_id=mine.endpoint.pk)
    assert of_endpoint == {mine.schedules[0].pk}
    of_theirs = api_ids(client, "/schedules", mine.secret, pipeline_id=theirs.published.pk)
    assert of_theirs == set()


# --- Studio pages ------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_runs_page_holds_the_members_runs_only(client, rows, side):
    mine = rows[side]
    assert page_pks(client, mine.admin, reverse("pipelines:run_list")) == pks(mine.runs)


@pytest.mark.parametrize("side", SIDES)
def test_endpoints_pages_hold_the_members_only(client, rows, side):
    mine = rows[side]
    url = reverse("endpoints:endpoint_list")
    assert page_pks(client, mine.admin, url) == {mine.endpoint.pk}
    assert page_pks(client, mine.admin, url + "?show_disabled=on") == pks(
        [mine.endpoint, mine.archived]
    )
    searched = reverse("endpoints:endpoint_list") + "?q=endpoint"
    assert page_pks(client, mine.admin, searched) == {mine.endpoint.pk}
    runs = reverse("endpoints:endpoint_runs", args=[mine.endpoint.pk])
    assert page_pks(client, mine.admin, runs) == {mine.runs[0].pk}


@pytest.mark.parametrize("side", SIDES)
def test_published_pipelines_page_holds_the_members_only(client, rows, side):
    mine = rows[side]
    url = reverse("pipelines:published_list")
    assert page_pks(client, mine.admin, url) == {mine.published.pk}
    everything = page_pks(client, mine.admin, url + "?show_disabled=on")
    assert everything == {mine.published.pk, mine.disabled.pk}
    detail = reverse("pipelines:published_detail", args=[mine.published.pk])
    assert page_pks(client, mine.admin, detail) == pks(mine.runs)


@pytest.mark.parametrize("side", SIDES)
def test_experiments_pages_hold_the_members_only(client, rows, side):
    mine = rows[side]
    experiments = page_pks(client, mine.admin, reverse("pipelines:experiment_list"))
    assert experiments == {mine.experiment.pk}
    client.force_login(mine.admin)
    detail = client.get(reverse("pipelines:experiment_detail", args=[mine.experiment.pk]))
    assert pks(detail.context["page"].object_list) == pks(mine.runs)
    # The metrics chart offers the metrics of the workspace's runs only.
    assert detail.context["metric_names"] == [mine.metric]


@pytest.mark.parametrize("side", SIDES)
def test_tokens_page_holds_the_members_only(client, rows, side):
    mine = rows[side]
    workspace = mine.token.workspace
    assert page_pks(client, mine.admin, reverse("workspace_tokens")) == pks(
        ApiToken.objects.filter(workspace=workspace)
    )


@pytest.mark.parametrize("side", SIDES)
def test_schedules_pages_hold_the_members_only(client, rows, side):
    mine = rows[side]
    assert page_pks(client, mine.admin, reverse("schedules:schedule_list")) == pks(mine.schedules)
    of_endpoint = reverse("schedules:endpoint_schedules", args=[mine.endpoint.pk])
    assert page_pks(client, mine.admin, of_endpoint) == {mine.schedules[0].pk}
    of_published = reverse("schedules:published_schedules", args=[mine.published.pk])
    assert page_pks(client, mine.admin, of_published) == {mine.schedules[1].pk}


def test_tokens_page_shows_a_non_admin_only_the_tokens_they_made(client, rows, team):
    own, _ = ApiToken.issue(team.workspace, name="mine", role=Role.READER, created_by=team.reader)
    assert page_pks(client, team.reader, reverse("workspace_tokens")) == {own.pk}


@pytest.mark.parametrize("side", SIDES)
def test_audit_page_holds_the_members_events_only(client, rows, side):
    mine, theirs = rows[side], rows[SIDES[1 - SIDES.index(side)]]
    seen = page_pks(client, mine.admin, reverse("workspace_audit"))
    assert pks(mine.events) <= seen
    assert not pks(theirs.events) & seen
    assert seen == pks(AuditEvent.visible_in(mine.token.workspace))


@pytest.mark.parametrize("side", SIDES)
def test_members_page_holds_the_members_only(client, rows, side):
    mine = rows[side]
    workspace = mine.token.workspace
    seen = page_pks(client, mine.admin, reverse("workspace_members"))
    assert seen == pks(Membership.objects.filter(workspace=workspace))
    assert mine.admin.pk in {m.user_id for m in Membership.objects.filter(pk__in=seen)}
