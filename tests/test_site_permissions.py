"""Permission matrix over every URL of the studio site (not /api/, not Django's /admin/).

One table, ``ENTRIES``: each row is a URL name, how to build its arguments, the method, the POST
data and the status each person gets, in the order of ``PEOPLE``: anonymous, Reader,
Contributor, Admin of the team's workspace, the Admin of another workspace (the "stranger")
and a signed-in "outsider" who belongs to no workspace. Anonymous people are sent to sign in;
the stranger gets 404 for objects of the team's workspace (never 403) and their own
workspace's rows on list pages (``LISTED``: each list page's rows are compared with what the
person's workspace holds, not only its status); the outsider gets the 403 "no workspace" page.

Every request also checks the team's rows: a refused or forged request (and every GET)
leaves them exactly as they were; an allowed state-changing POST by a member changes them.

``test_every_studio_url_has_an_entry`` walks Django's URL resolver: a page added without a
row here breaks the build. The REST API has its own matrix (tests/studio/test_api_permissions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from endpoints.models import PipelineEndpoint, PipelineEndpointVersion
from pipelines.models import Experiment, PipelineRun, PublishedPipeline, StepRun
from schedules.models import Schedule
from studio.models import ApiToken, AuditEvent, Membership, Role
from studio.sdk_dist import DIST_NAME, WHEEL_NAME
from tests.fixtures.people import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("fast_passwords")

PEOPLE = ("anonymous", "reader", "contributor", "admin", "stranger", "outsider")
MEMBERS = ("reader", "contributor", "admin")
SIGN_IN = "/accounts/login/"

# Not studio pages: Django's admin site, and the REST API (its own matrix).
OTHER_SITES = ("admin/", "api/")


@dataclass
class World:
    """The team's workspace with one of everything a studio URL can name."""

    team: object
    outsider: object
    endpoint: PipelineEndpoint
    published: PublishedPipeline
    disabled: PublishedPipeline
    disabled_endpoint: PipelineEndpoint
    running: PipelineRun
    finished: PipelineRun
    failed: PipelineRun
    step: StepRun
    experiment: Experiment
    reader_membership: Membership
    admins_token: ApiToken
    schedule: Schedule
    paused_schedule: Schedule


@pytest.fixture
def world(team, studio_data, settings):
    settings.MSAL_CLIENT_ID = ""  # Microsoft sign-in is not configured: its pages are 404
    make_user("newcomer")
    published = studio_data.published("Scoring", "1.0")
    endpoint = studio_data.endpoint(
        "Scoring endpoint", [published, studio_data.published("Scoring", "2.0")]
    )
    disabled = studio_data.published("Retired", status=PublishedPipeline.Status.DISABLED)
    disabled_endpoint = studio_data.endpoint(
        "Disabled endpoint", status=PipelineEndpoint.Status.DISABLED
    )
    running = studio_data.run(endpoint=endpoint, status="Running", experiment="Nightly")
    finished = studio_data.run(published=published, status="Finished", experiment="Nightly")
    failed = studio_data.run(published=published, status="Failed", experiment="Nightly")
    step = finished.steps.order_by("position").first()
    stored = default_storage.save(f"matrix/{finished.pk}/model/weights.txt", ContentFile(b"w=1"))
    prefix, file_name = stored.rsplit("/", 1)
    step.outputs = {"model": {"path": prefix, "files": [file_name], "digest": "", "size": 3}}
    step.log = "epoch 1\n"
    step.save(update_fields=["outputs", "log"])
    admins_token, _ = ApiToken.issue(
        team.workspace, name="admins", role=Role.ADMIN, created_by=team.admin
    )
    hourly = {"ExperimentName": "Nightly", "Recurrence": {"Frequency": "Hour", "Interval": 1}}
    schedule = Schedule.create(
        team.workspace, published, {"Name": "Hourly", **hourly}, by=team.contributor
    )
    paused_schedule = Schedule.create(
        team.workspace, endpoint, {"Name": "Paused", **hourly}, by=team.contributor
    )
    paused_schedule.pause(by=team.contributor)
    # The stranger's workspace has rows of every listed kind too: their lists must hold
    # those and none of the team's.
    theirs = studio_data.published("Theirs", workspace=team.other_workspace)
    Schedule.create(team.other_workspace, theirs, {"Name": "Theirs", **hourly}, by=team.stranger)
    studio_data.endpoint("Their endpoint", [theirs], workspace=team.other_workspace)
    studio_data.run(published=theirs, experiment="Theirs", workspace=team.other_workspace)
    ApiToken.issue(team.other_workspace, name="theirs", role=Role.ADMIN, created_by=team.stranger)
    yield World(
        team=team,
        outsider=make_user("outsider"),
        endpoint=endpoint,
        published=published,
        disabled=disabled,
        disabled_endpoint=disabled_endpoint,
        running=running,
        finished=finished,
        failed=failed,
        step=step,
        experiment=finished.experiment,
        reader_membership=Membership.objects.get(workspace=team.workspace, user=team.reader),
        admins_token=admins_token,
        schedule=schedule,
        paused_schedule=paused_schedule,
    )
    default_storage.delete(stored)


def team_rows(world: World) -> dict:
    """Everything a studio POST could change in the team's workspace."""
    workspace = world.team.workspace
    return {
        "members": sorted(
            Membership.objects.filter(workspace=workspace).values_list("user_id", "role")
        ),
        "tokens": sorted(
            ApiToken.objects.filter(workspace=workspace).values_list("pk", "revoked_at")
        ),
        "published": sorted(
            PublishedPipeline.objects.filter(workspace=workspace).values_list("pk", "status")
        ),
        "endpoints": sorted(
            PipelineEndpoint.objects.filter(workspace=workspace).values_list("pk", "name", "status")
        ),
        "versions": sorted(
            PipelineEndpointVersion.objects.filter(endpoint__workspace=workspace).values_list(
                "pk", "is_default"
            )
        ),
        "runs": sorted(PipelineRun.objects.filter(workspace=workspace).values_list("pk", "status")),
        "steps": sorted(
            StepRun.objects.filter(run__workspace=workspace).values_list("pk", "status")
        ),
        "schedules": sorted(
            Schedule.objects.filter(workspace=workspace).values_list("pk", "name", "is_paused")
        ),
    }


def nothing(world: World) -> dict:
    return {}


def pk_of(attribute: str) -> Callable[[World], dict]:
    """The URL arguments naming one object of the world: ``{"pk": world.<attribute>.pk}``."""

    def kwargs(world: World) -> dict:
        return {"pk": getattr(world, attribute).pk}

    return kwargs


endpoint = pk_of("endpoint")
published = pk_of("published")
disabled = pk_of("disabled")
disabled_endpoint = pk_of("disabled_endpoint")
running = pk_of("running")
finished = pk_of("finished")
failed = pk_of("failed")
experiment = pk_of("experiment")
reader_membership = pk_of("reader_membership")
admins_token = pk_of("admins_token")
schedule = pk_of("schedule")
paused_schedule = pk_of("paused_schedule")


def step(world: World) -> dict:
    return {"pk": world.finished.pk, "step_pk": world.step.pk}


def output_file(world: World) -> dict:
    path = world.step.outputs["model"]["files"][0]
    return {**step(world), "name": "model", "path": path}


def team_workspace(world: World) -> dict:
    return {"workspace": world.team.workspace.pk}


def submit_data(world: World) -> dict:
    return {"experiment_name": "Forged", "pipeline_version": "0", "p_pipeline_arg": "20"}


def schedule_data(world: World) -> dict:
    return {
        "name": "Forged schedule",
        "experiment_name": "Forged",
        "kind": "recurrence",
        "frequency": "Hour",
        "interval": "1",
        "time_zone": "UTC",
        "catch_up": "latest",
        "p_pipeline_arg": "20",
    }


def bulk_data(world: World) -> dict:
    return {"action": "disable", "ids": [world.endpoint.pk], "reason": "forged"}


def bulk_published_data(world: World) -> dict:
    return {"action": "disable", "ids": [world.published.pk], "reason": "forged"}


@dataclass(frozen=True)
class Entry:
    """One row of the matrix: a URL name requested one way, and what each person gets."""

    name: str
    statuses: tuple[int, int, int, int, int, int]  # in the order of PEOPLE
    method: str = "GET"
    kwargs: Callable[[World], dict] = nothing
    data: Callable[[World], dict] | dict = field(default_factory=dict)
    changes: bool = False  # an allowed POST by a member changes the team's rows
    anonymous_to: str = SIGN_IN  # where a 302 sends anonymous people

    def __str__(self) -> str:
        return f"{self.method} {self.name}"


def post(name, statuses, kwargs=nothing, data=None, changes=True, **extra) -> Entry:
    return Entry(name, statuses, "POST", kwargs, data or {}, changes, **extra)


# GET pages: anonymous → sign in; members → 200; the stranger → their own workspace's list,
# and 404 for an object of the team's workspace; the outsider → 403 "no workspace".
LIST = (302, 200, 200, 200, 200, 403)
OBJECT = (302, 200, 200, 200, 404, 403)
ADMIN_LIST = (302, 403, 403, 200, 200, 403)
# POST-only URLs refuse GET (405) without touching anything.
GET_ON_POST_ONLY = (302, 405, 405, 405, 405, 403)
# State-changing POSTs: refused below the role with 403, 404 for the stranger.
CONTRIBUTOR_POST = (302, 403, 302, 302, 404, 403)
ADMIN_POST = (302, 403, 403, 302, 404, 403)
EVERYONE = (302, 302, 302, 302, 302, 302)
# Bulk Disable/Enable without a selection: Admins get the "nothing was changed" page.
BULK_WITHOUT_SELECTION = (302, 403, 403, 400, 400, 403)
PUBLIC = (200, 200, 200, 200, 200, 200)
NOT_CONFIGURED = (404, 404, 404, 404, 404, 404)

ENTRIES = [
    # Sign-in and the account.
    Entry("home", EVERYONE, anonymous_to="/endpoints/"),
    Entry("healthz", PUBLIC),
    Entry("pipelines:metrics", NOT_CONFIGURED),  # STUDIO_METRICS_ENABLED (tests/pipelines)
    # The SDK is public code: everyone gets its page, its simple index and its wheel.
    Entry("sdk_index", PUBLIC),
    Entry("sdk_simple", PUBLIC),
    Entry("sdk_simple_project", PUBLIC, kwargs=lambda world: {"name": DIST_NAME}),
    Entry("sdk_wheel", PUBLIC, kwargs=lambda world: {"file_name": WHEEL_NAME}),
    Entry("login", (200, 302, 302, 302, 302, 302)),
    post(
        "login",
        EVERYONE,
        data={"username": "reader-user", "password": PASSWORD},
        changes=False,
        anonymous_to="/endpoints/",
    ),
    Entry("logout", (405, 405, 405, 405, 405, 405)),
    post("logout", EVERYONE, changes=False),
    Entry("sign_out_everywhere", (302, 405, 405, 405, 405, 405)),
    post("sign_out_everywhere", EVERYONE, changes=False),
    Entry("msal_login", NOT_CONFIGURED),
    Entry("msal_callback", NOT_CONFIGURED),
    Entry("switch_workspace", (302, 405, 405, 405, 405, 405)),
    post("switch_workspace", (302, 302, 302, 302, 400, 400), data=team_workspace, changes=False),
    # Members (tests/studio/test_members_matrix.py checks these pages further).
    Entry("workspace_members", ADMIN_LIST),
    Entry("workspace_member_add", GET_ON_POST_ONLY),
    post(
        "workspace_member_add",
        (302, 403, 403, 302, 302, 403),  # the stranger adds to their own workspace
        data={"user": "newcomer", "role": Role.READER},
    ),
    Entry("workspace_member_role", GET_ON_POST_ONLY, kwargs=reader_membership),
    post("workspace_member_role", ADMIN_POST, reader_membership, {"role": Role.ADMIN}),
    Entry("workspace_member_remove", GET_ON_POST_ONLY, kwargs=reader_membership),
    post("workspace_member_remove", ADMIN_POST, reader_membership),
    # API tokens: every member makes their own (up to their role); Admins revoke anyone's.
    Entry("workspace_tokens", LIST),
    post(
        "workspace_tokens",
        (302, 302, 302, 302, 302, 403),  # the stranger's token is made in their own workspace
        data={"name": "forged", "role": Role.READER, "expires_in_days": "1"},
    ),
    Entry("workspace_token_revoke", GET_ON_POST_ONLY, kwargs=admins_token),
    post("workspace_token_revoke", (302, 404, 404, 302, 404, 403), admins_token),
    Entry("workspace_audit", ADMIN_LIST),
    # Pipeline endpoints.
    Entry("endpoints:endpoint_list", LIST),
    Entry("endpoints:endpoint_detail", OBJECT, kwargs=endpoint),
    Entry("endpoints:endpoint_versions", OBJECT, kwargs=endpoint),
    Entry("endpoints:endpoint_runs", OBJECT, kwargs=endpoint),
    Entry("endpoints:endpoint_consume", OBJECT, kwargs=endpoint),
    Entry("endpoints:set_default_version", GET_ON_POST_ONLY, kwargs=endpoint),
    post("endpoints:set_default_version", ADMIN_POST, endpoint, {"version": "1"}),
    Entry("endpoints:endpoint_disable", GET_ON_POST_ONLY, kwargs=endpoint),
    post("endpoints:endpoint_disable", ADMIN_POST, endpoint),
    Entry("endpoints:endpoint_enable", GET_ON_POST_ONLY, kwargs=disabled_endpoint),
    post("endpoints:endpoint_enable", ADMIN_POST, disabled_endpoint),
    Entry("endpoints:endpoint_submit", OBJECT, kwargs=endpoint),  # Readers see it read-only
    post("endpoints:endpoint_submit", CONTRIBUTOR_POST, endpoint, submit_data),
    Entry("endpoints:endpoint_bulk", BULK_WITHOUT_SELECTION),
    post("endpoints:endpoint_bulk", ADMIN_POST, data=bulk_data),
    # Published pipelines.
    Entry("pipelines:published_list", LIST),
    Entry("pipelines:published_detail", OBJECT, kwargs=published),
    Entry("pipelines:published_disable", GET_ON_POST_ONLY, kwargs=published),
    post("pipelines:published_disable", ADMIN_POST, published),
    Entry("pipelines:published_enable", GET_ON_POST_ONLY, kwargs=disabled),
    post("pipelines:published_enable", ADMIN_POST, disabled),
    Entry("pipelines:published_submit", OBJECT, kwargs=published),
    post("pipelines:published_submit", CONTRIBUTOR_POST, published, submit_data),
    Entry("pipelines:published_bulk", BULK_WITHOUT_SELECTION),
    post("pipelines:published_bulk", ADMIN_POST, data=bulk_published_data),
    # Schedules: every member reads them, Contributors change them.
    Entry("schedules:schedule_list", LIST),
    Entry("schedules:schedule_detail", OBJECT, kwargs=schedule),
    Entry("schedules:endpoint_schedules", OBJECT, kwargs=endpoint),
    Entry("schedules:published_schedules", OBJECT, kwargs=published),
    Entry("schedules:endpoint_schedule_new", OBJECT, kwargs=endpoint),  # Readers: read-only
    post("schedules:endpoint_schedule_new", CONTRIBUTOR_POST, endpoint, schedule_data),
    Entry("schedules:published_schedule_new", OBJECT, kwargs=published),
    post("schedules:published_schedule_new", CONTRIBUTOR_POST, published, schedule_data),
    Entry("schedules:schedule_edit", OBJECT, kwargs=schedule),
    post("schedules:schedule_edit", CONTRIBUTOR_POST, schedule, schedule_data),
    Entry("schedules:schedule_pause", GET_ON_POST_ONLY, kwargs=schedule),
    post("schedules:schedule_pause", CONTRIBUTOR_POST, schedule),
    Entry("schedules:schedule_resume", GET_ON_POST_ONLY, kwargs=paused_schedule),
    post("schedules:schedule_resume", CONTRIBUTOR_POST, paused_schedule),
    Entry("schedules:schedule_delete", GET_ON_POST_ONLY, kwargs=schedule),
    post("schedules:schedule_delete", CONTRIBUTOR_POST, schedule),
    # Runs and experiments.
    Entry("pipelines:run_list", LIST),
    Entry("pipelines:run_detail", OBJECT, kwargs=running),
    Entry("pipelines:run_cancel", GET_ON_POST_ONLY, kwargs=running),
    post("pipelines:run_cancel", CONTRIBUTOR_POST, running),
    Entry("pipelines:run_resubmit", GET_ON_POST_ONLY, kwargs=finished),
    post("pipelines:run_resubmit", CONTRIBUTOR_POST, finished),
    Entry("pipelines:run_rerun", OBJECT, kwargs=failed),  # Readers see it read-only
    post("pipelines:run_rerun", CONTRIBUTOR_POST, failed, submit_data),
    # Without ?runs= members are told to choose runs (400), on any workspace.
    Entry("pipelines:run_compare", (302, 400, 400, 400, 400, 403)),
    # The step has ended: the log follow answers 286 so that htmx stops polling.
    Entry("pipelines:step_log", (302, 286, 286, 286, 404, 403), kwargs=step),
    Entry("pipelines:step_output", OBJECT, kwargs=output_file),
    Entry("pipelines:experiment_list", LIST),
    Entry("pipelines:experiment_detail", OBJECT, kwargs=experiment),
]


def visible_tokens(workspace, user):
    tokens = ApiToken.objects.filter(workspace=workspace)
    if not Membership.objects.filter(workspace=workspace, user=user, role=Role.ADMIN).exists():
        tokens = tokens.filter(created_by=user)
    return tokens


# What each list page holds for a person who may see it: the rows of their own workspace
# (the stranger's for the stranger), never another's. Schedules: add their page when it exists.
LISTED: dict[str, Callable] = {
    "workspace_members": lambda workspace, user: Membership.objects.filter(workspace=workspace),
    "workspace_tokens": visible_tokens,
    "workspace_audit": lambda workspace, user: AuditEvent.visible_in(workspace),
    "endpoints:endpoint_list": lambda workspace, user: PipelineEndpoint.objects.filter(
        workspace=workspace, status=PipelineEndpoint.Status.ACTIVE
    ),
    "pipelines:published_list": lambda workspace, user: PublishedPipeline.objects.filter(
        workspace=workspace, status=PublishedPipeline.Status.ACTIVE
    ),
    "pipelines:run_list": lambda workspace, user: PipelineRun.objects.filter(workspace=workspace),
    "pipelines:experiment_list": lambda workspace, user: Experiment.objects.filter(
        workspace=workspace
    ),
    "schedules:schedule_list": lambda workspace, user: Schedule.objects.filter(workspace=workspace),
}


def assert_lists_own_rows(response, entry: Entry, world: World, person: str) -> None:
    """A list page holds exactly the person's workspace's rows."""
    user = world.team.stranger if person == "stranger" else getattr(world.team, person)
    workspace = world.team.other_workspace if person == "stranger" else world.team.workspace
    expected = {row.pk for row in LISTED[entry.name](workspace, user)}
    shown = {row.pk for row in response.context["page"].object_list}
    assert shown == expected, f"{entry} for {person}"
    if person in ("admin", "stranger"):
        assert expected, f"{entry}: {person}'s workspace has no rows to list"


def request(client, entry: Entry, world: World, kwargs: dict | None = None):
    url = reverse(entry.name, kwargs=entry.kwargs(world) if kwargs is None else kwargs)
    if entry.method == "GET":
        return client.get(url)
    data = entry.data(world) if callable(entry.data) else entry.data
    return client.post(url, data)


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("entry", ENTRIES, ids=str)
def test_permission_matrix(client, world, entry, person):
    if person == "outsider":
        client.force_login(world.outsider)
    elif person != "anonymous":
        client.force_login(getattr(world.team, person))
    before = team_rows(world)

    response = request(client, entry, world)

    expected = entry.statuses[PEOPLE.index(person)]
    assert response.status_code == expected, response.content[:500]
    if entry.method == "GET" and entry.name in LISTED and expected == 200:
        assert_lists_own_rows(response, entry, world, person)
    if person == "anonymous" and expected == 302:
        assert response["Location"].startswith(entry.anonymous_to)
    allowed_change = entry.changes and person in MEMBERS and expected < 400
    if allowed_change:
        assert team_rows(world) != before, f"{entry} by {person} changed nothing"
    else:
        assert team_rows(world) == before, f"{entry} by {person} changed the team's rows"


@pytest.mark.parametrize(
    "entry", [entry for entry in ENTRIES if entry.kwargs is not nothing], ids=str
)
def test_unknown_ids_are_404_even_for_an_admin(client, world, entry):
    """Guessed ids and names find nothing: 404 (405 comes first for a GET of a POST-only URL)."""
    client.force_login(world.team.admin)
    kwargs = entry.kwargs(world)
    missing = {
        key: 10**9 if isinstance(value, int) else f"unknown-{value}"
        for key, value in kwargs.items()
    }
    before = team_rows(world)
    response = request(client, entry, world, missing)
    assert response.status_code == (405 if entry.statuses == GET_ON_POST_ONLY else 404)
    assert team_rows(world) == before


@pytest.mark.parametrize("entry", [entry for entry in ENTRIES if entry.method == "POST"], ids=str)
def test_every_post_is_refused_without_a_csrf_token(world, entry):
    """A cross-site form posting as a signed-in Admin gets 403 and changes nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.team.admin)
    before = team_rows(world)
    response = request(client, entry, world)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert team_rows(world) == before


def studio_url_names(resolver=None, namespace="", route="") -> list[tuple[str, str | None]]:
    """(route, name) of every URL outside /admin/ and /api/, walking included URLconfs."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        full = route + str(pattern.pattern)
        if full.startswith(OTHER_SITES):
            continue
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}{pattern.namespace}:"
            found += studio_url_names(pattern, inner, full)
        elif isinstance(pattern, URLPattern):
            found.append((full, f"{namespace}{pattern.name}" if pattern.name else None))
    return found


def test_every_studio_url_has_an_entry():
    urls = studio_url_names()
    unnamed = [route for route, name in urls if name is None]
    assert not unnamed, f"Name these URLs and add them to ENTRIES: {unnamed}"
    covered = {entry.name for entry in ENTRIES}
    missing = sorted(name for _, name in urls if name not in covered)
    assert not missing, f"Add permission entries to tests/test_site_permissions.py: {missing}"


def test_every_list_page_has_its_rows_checked():
    lists = {entry.name for entry in ENTRIES if entry.statuses in (LIST, ADMIN_LIST)}
    assert lists == set(LISTED), "Add what each list page holds to LISTED"


def test_the_walk_sees_every_app_and_no_stale_entries():
    names = {name for _, name in studio_url_names()}
    assert {"home", "workspace_tokens", "endpoints:endpoint_list", "pipelines:run_list"} <= names
    assert not any(name.startswith(("admin:", "api")) for name in names)
    assert {entry.name for entry in ENTRIES} <= names
    refusing_get = {
        entry.name for entry in ENTRIES if entry.method == "GET" and 405 in entry.statuses
    }
    posted = {entry.name for entry in ENTRIES if entry.method == "POST"}
    assert refusing_get <= posted, f"POST-only URLs without a POST entry: {refusing_get - posted}"
