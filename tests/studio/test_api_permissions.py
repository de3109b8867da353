"""The permission matrix: every route × no token, a wrong token, Reader, Contributor, Admin,
and a token of another workspace. The calls go through Django's test client (``local_api``:
every middleware, the router and the views, in the test's transaction); the same routes are
called over real HTTP by the API, SDK and generated-client tests.

Each row names the least role the route needs, the status a permitted caller gets, and what an
Admin of another workspace gets: 404 for objects of this workspace (never 403), their own
rows for collections (``LISTED``: what each collection holds is compared with the caller's
workspace's rows, not only the status).
"""

import pytest

from endpoints.models import PipelineEndpoint
from pipelines.models import PipelineRun, PublishedPipeline
from schedules.models import Schedule
from studio.models import ApiToken, AuditEvent, Role
from tests.fixtures.pages import StudioData

READER, CONTRIBUTOR, ADMIN = Role.READER, Role.CONTRIBUTOR, Role.ADMIN


def snapshot_upload(studio):
    with studio.snapshot.archive.open("rb") as handle:
        return {"files": {"archive": ("src.tar.gz", handle.read(), "application/gzip")}}


def graph_body(studio):
    return {"json": {"Name": "Draft", "Graph": studio.pipeline.graph}}


def publish_body(studio):
    return {"json": {"Name": "Again", "Version": "9"}}


def submit_body(studio):
    return {"json": {"ExperimentName": "Matrix"}}


def endpoint_body(studio):
    return {"json": {"Name": "Another", "PipelineId": studio.published.pk}}


def version_body(studio):
    return {"json": {"PipelineId": studio.published.pk}}


def schedule_body(studio):
    return {
        "json": {
            "Name": "Matrix schedule",
            "PipelineId": studio.published.pk,
            "ExperimentName": "Matrix",
            "Cron": "0 3 * * *",
        }
    }


def default_version_body(studio):
    return {"json": {"PipelineId": studio.published.pk, "SetDefault": True}}


# method, path, least role, status when permitted, status for another workspace's Admin, body
ROUTES = [
    ("GET", "/workspace", READER, 200, 200, None),
    ("GET", "/snapshots/{sha}", READER, 200, 404, None),
    ("POST", "/snapshots", CONTRIBUTOR, 200, 201, snapshot_upload),
    ("POST", "/pipelines", CONTRIBUTOR, 201, 400, graph_body),
    ("GET", "/pipelines/{pipeline}", READER, 200, 404, None),
    ("POST", "/pipelines/{pipeline}/runs", CONTRIBUTOR, 201, 404, submit_body),
    ("POST", "/pipelines/{pipeline}/publish", CONTRIBUTOR, 201, 404, publish_body),
    ("GET", "/runs", READER, 200, 200, None),
    ("GET", "/runs/{run}", READER, 200, 404, None),
    ("GET", "/runs/{run}/steps", READER, 200, 404, None),
    ("GET", "/runs/{run}/steps/{step}/log", READER, 200, 404, None),
    ("GET", "/runs/{run}/metrics", READER, 200, 404, None),
    ("GET", "/runs/{run}/steps/{step}/metrics", READER, 200, 404, None),
    ("GET", "/runs/{run}/steps/{step}/outputs/model", READER, 200, 404, None),
    ("GET", "/runs/{run}/steps/{step}/outputs/model/files/weights.txt", READER, 200, 404, None),
    ("POST", "/runs/{run}/cancel", CONTRIBUTOR, 202, 404, None),
    ("POST", "/runs/{run}/resubmit", CONTRIBUTOR, 201, 404, None),
    ("POST", "/runs/{run}/publish", CONTRIBUTOR, 201, 404, publish_body),
    ("GET", "/published-pipelines", READER, 200, 200, None),
    ("GET", "/published-pipelines/{published}", READER, 200, 404, None),
    ("POST", "/published-pipelines/{published}/disable", ADMIN, 200, 404, None),
    ("POST", "/published-pipelines/{published}/enable", ADMIN, 200, 404, None),
    ("POST", "/published-pipelines/{published}/runs", CONTRIBUTOR, 201, 404, submit_body),
    ("POST", "/pipeline-endpoints", CONTRIBUTOR, 201, 404, endpoint_body),
    ("GET", "/pipeline-endpoints", READER, 200, 200, None),
    ("GET", "/pipeline-endpoints/{endpoint}", READER, 200, 404, None),
    ("GET", "/pipeline-endpoints/by-name/TrainEndpoint", READER, 200, 404, None),
    ("PATCH", "/pipeline-endpoints/{endpoint}", ADMIN, 200, 404, lambda s: {"json": {"Name": "N"}}),
    ("GET", "/pipeline-endpoints/{endpoint}/versions", READER, 200, 404, None),
    ("POST", "/pipeline-endpoints/{endpoint}/versions", CONTRIBUTOR, 201, 404, version_body),
    ("POST", "/pipeline-endpoints/{endpoint}/versions", ADMIN, 201, 404, default_version_body),
    ("GET", "/pipeline-endpoints/{endpoint}/versions/0", READER, 200, 404, None),
    (
        "PUT",
        "/pipeline-endpoints/{endpoint}/default-version",
        ADMIN,
        200,
        404,
        lambda s: {"json": {"Version": "0"}},
    ),
    ("POST", "/pipeline-endpoints/{endpoint}/disable", ADMIN, 200, 404, None),
    ("POST", "/pipeline-endpoints/{endpoint}/enable", ADMIN, 200, 404, None),
    ("POST", "/pipeline-endpoints/{endpoint}/runs", CONTRIBUTOR, 201, 404, submit_body),
    ("GET", "/tokens", ADMIN, 200, 200, None),
    ("POST", "/tokens", ADMIN, 201, 201, lambda s: {"json": {"Name": "ci", "Role": "reader"}}),
    ("POST", "/tokens/{token}/revoke", ADMIN, 200, 404, None),
    ("GET", "/audit-events", ADMIN, 200, 200, None),
    ("GET", "/schedules", READER, 200, 200, None),
    ("POST", "/schedules", CONTRIBUTOR, 201, 404, schedule_body),
    ("GET", "/schedules/{schedule}", READER, 200, 404, None),
    ("PATCH", "/schedules/{schedule}", CONTRIBUTOR, 200, 404, lambda s: {"json": {"Name": "N"}}),
    ("POST", "/schedules/{schedule}/pause", CONTRIBUTOR, 200, 404, None),
    ("POST", "/schedules/{schedule}/resume", CONTRIBUTOR, 200, 404, None),
    ("GET", "/schedules/{schedule}/runs", READER, 200, 404, None),
    ("DELETE", "/schedules/{schedule}", CONTRIBUTOR, 204, 404, None),
]
CALLERS = ["none", "wrong", "reader", "contributor", "admin", "other"]

# What each collection lists of a workspace.
LISTED = {
    "/runs": lambda workspace: PipelineRun.objects.filter(workspace=workspace),
    "/published-pipelines": lambda workspace: PublishedPipeline.objects.filter(
        workspace=workspace, status=PublishedPipeline.Status.ACTIVE
    ),
    "/pipeline-endpoints": lambda workspace: PipelineEndpoint.objects.filter(
        workspace=workspace, status=PipelineEndpoint.Status.ACTIVE
    ),
    "/tokens": lambda workspace: ApiToken.objects.filter(workspace=workspace),
    "/audit-events": AuditEvent.visible_in,
    "/schedules": lambda workspace: Schedule.objects.filter(workspace=workspace),
}


@pytest.fixture
def their_rows(studio):
    """A published pipeline, an endpoint, a run and a schedule in the other workspace: its
    Admin's collections must hold these and none of the team's."""
    data, workspace = StudioData(studio.team), studio.team.other_workspace
    theirs = data.published("Theirs", workspace=workspace)
    data.endpoint("Their endpoint", [theirs], workspace=workspace)
    data.run(published=theirs, experiment="Theirs", workspace=workspace)
    Schedule.create(
        workspace,
        theirs,
        {"Name": "Theirs nightly", "ExperimentName": "Theirs", "Cron": "0 2 * * *"},
        by=studio.team.stranger,
    )


def expected_status(caller, role, allowed, other):
    if caller in ("none", "wrong"):
        return 401
    if caller == "other":
        return other
    return allowed if Role.at_least(caller, role) else 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    "method, path, role, allowed, other, body",
    ROUTES,
    ids=[f"{m} {p} ({r})" for m, p, r, *_ in ROUTES],
)
def test_permission_matrix(
    local_api, studio, tokens, their_rows, caller, method, path, role, allowed, other, body
):
    victim, _ = ApiToken.issue(studio.team.workspace, name="victim", role=READER)
    schedule = Schedule.create(
        studio.team.workspace,
        studio.endpoint,
        {"Name": "Hourly", "ExperimentName": "E", "Recurrence": {"Frequency": "Hour"}},
        by=studio.team.admin,
    )
    url = path.format(
        sha=studio.snapshot.sha256,
        pipeline=studio.pipeline.pk,
        run=studio.run.pk,
        step=studio.step.pk,
        published=studio.published.pk,
        endpoint=studio.endpoint.pk,
        token=victim.pk,
        schedule=schedule.pk,
    )
    secret = {"none": None, "wrong": ApiToken.PREFIX + "not-a-real-token"}.get(caller)
    secret = secret or tokens.get(caller)
    response = local_api.request(method, url, secret, **(body(studio) if body else {}))
    expected = expected_status(caller, role, allowed, other)
    assert response.status_code == expected, response.text[:500]
    if expected >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    if method == "GET" and path in LISTED and expected == 200:
        team = studio.team
        workspace = team.other_workspace if caller == "other" else team.workspace
        listed = {int(item["Id"]) for item in response.json()["Items"]}
        rows = {row.pk for row in LISTED[path](workspace)}
        assert rows, f"the {caller} caller's workspace has nothing to list"
        assert listed == rows, f"GET {path} as {caller}"


def test_every_collection_has_its_rows_checked():
    """A GET that another workspace's Admin may call on the team's URL is a collection."""
    collections = {
        path for method, path, _, _, other, _ in ROUTES if method == "GET" and other == 200
    }
    assert collections - {"/workspace"} == set(LISTED)
