"""A bounded property-based fuzz of every studio page: GET and POST with hostile path ids,
query strings and form bodies (NUL, huge integers, unicode, overlong text) never get a 5xx.

The pages are found by walking the URL resolver, so a new page is fuzzed without being
listed here; the REST API has its own fuzz (test_api_fuzz.py) and Django's admin is left
to Django. Each example runs in a savepoint that is rolled back, so a POST that signs out,
revokes or removes something does not change what the next example sees.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from studio.models import ApiToken, Membership, Role

EXAMPLES_PER_PAGE = 8
# Left out: the REST API and Django's admin (see the module docstring).
OUTSIDE = ("api/", "admin/")
HUGE = ["0", "-1", str(2**31 - 1), str(2**63 - 1), str(2**63), str(10**20), str(10**24), "1" * 400]
# The names pages read (from the views' forms and query strings) and a few of no meaning.
NAMES = [
    "q",
    "page",
    "offset",
    "step",
    "metric",
    "status",
    "version",
    "experiment_name",
    "show_disabled",
    "next",
    "workspace",
    "role",
    "user",
    "name",
    "expires_in_days",
    "person",
    "action",
    "since",
    "until",
    "endpoint",
    "published",
    "experiment",
    "submitted_by",
    "created_after",
    "created_before",
    "pipeline_version",
    "p_epochs",
    "p_label",
    "username",
    "password",
    "code",
    "state",
    "tab",
]
hostile_text = st.one_of(
    st.sampled_from(HUGE),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(lambda s: s + "\x00"),
    st.sampled_from(["\x00", "%00", "é☃𝄞", "1e400", "NaN", "-0", "2026-13-45", "../../etc"]),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "x" * n),
)
fields = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=10)), hostile_text, max_size=6
)


def studio_patterns(resolver=None, prefix="") -> list[tuple[str, URLPattern]]:
    """Every (route, pattern) of the studio's pages, from the resolver."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(OUTSIDE):
            continue
        if isinstance(entry, URLResolver):
            found += studio_patterns(entry, route)
        else:
            found.append((route, entry))
    return found


def path_of(route: str, values: dict) -> str:
    """``route`` with each ``<converter:name>`` replaced by ``values[name]``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


@pytest.fixture
def objects(studio):
    """What exists, by path argument name; ``pk`` by the route's noun (its first word that
    names one), so that each page is also asked about something it has."""
    team = studio.team
    token, _ = ApiToken.issue(team.workspace, name="fuzz", role=Role.READER, created_by=team.admin)
    member = Membership.objects.get(workspace=team.workspace, user=team.reader)
    # Two workspaces: the header's switcher form is on every page.
    Membership.objects.create(workspace=team.other_workspace, user=team.admin, role=Role.READER)
    return {
        "pk": {
            "endpoints": studio.endpoint.pk,
            "published": studio.published.pk,
            "runs": studio.run.pk,
            "experiments": studio.run.experiment_id,
            "members": member.pk,
            "tokens": token.pk,
        },
        "step_pk": {"": studio.step.pk},
        "name": {"": "model"},
        "path": {"": "weights.txt"},
    }


def existing(objects: dict, route: str, name: str) -> str:
    """The id or name of something that exists for argument ``name`` of ``route``."""
    choices = objects.get(name, {"": "x"})
    noun = next((word for word in route.split("/") if word in choices), "")
    return str(choices.get(noun, next(iter(choices.values()))))


ALL_AT_ONCE = ["\x00", str(2**31 - 1), str(2**63), str(10**24), "x" * 5000, "é☃𝄞\u200f"]


def test_no_studio_page_answers_5xx(client, studio, objects, settings):
    patterns = studio_patterns()
    assert len(patterns) >= 25, [route for route, _ in patterns]
    client.force_login(studio.team.admin)
    chosen = client.session
    chosen["workspace_id"] = studio.team.workspace.pk  # the one with the objects
    chosen.save()
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    exercised: set[str] = set()

    def request(method: str, path: str, query: dict, form: dict, htmx: bool):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        # What the request changes (a sign-out, a revoked token) is undone for the next one.
        client.cookies[settings.SESSION_COOKIE_NAME] = session
        with transaction.atomic():
            if method == "get":
                response = client.get(path, query | form, **headers)
            else:
                response = client.post(f"{path}?{urlencode(query)}", form, **headers)
            transaction.set_rollback(True)
        assert response.status_code < 500, (method, path, query, form)

    for route, _pattern in patterns:
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        ids = {name: existing(objects, route, name) for name in names}
        # Every name the pages read, all at once, with each value known to have broken one.
        for value in ALL_AT_ONCE:
            for method in ("get", "post"):
                everything = dict.fromkeys(NAMES, value)
                request(method, path_of(route, ids), everything, everything, False)
        fuzz_page(request, route, names, objects)
        exercised.add(route)

    assert exercised == {route for route, _ in patterns}


def fuzz_page(request, route: str, names: list[str], objects: dict) -> None:
    """``EXAMPLES_PER_PAGE`` random requests to ``route``."""
    ids = {name: st.one_of(st.just(existing(objects, route, name)), hostile_text) for name in names}

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_PAGE,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        values=st.fixed_dictionaries(ids),
        method=st.sampled_from(["get", "post"]),
        query=fields,
        form=fields,
        htmx=st.booleans(),
    )
    def check(values, method, query, form, htmx):
        # A "/" in a path id would make another path: it stands for itself as "_".
        path = path_of(route, {n: v.replace("/", "_") for n, v in values.items()})
        request(method, path, query, form, htmx)

    check()
