"""Permission matrix of the account pages (members, API tokens, audit log, sign-out everywhere).

Each route × anonymous, Reader, Contributor, Admin and the Admin of another workspace. Objects
of this workspace are 404 for the stranger (never 403); collections show the stranger's own.
"""

import pytest

from studio.models import ApiToken, Membership, Role
from tests.fixtures.people import make_user

pytestmark = pytest.mark.usefixtures("fast_passwords")

ACTORS = ["anonymous", "reader", "contributor", "admin", "stranger"]


def reader_membership(team):
    return Membership.objects.get(workspace=team.workspace, user=team.reader).pk


def admins_token(team):
    token, _ = ApiToken.issue(team.workspace, name="admins", role=Role.ADMIN, created_by=team.admin)
    return token.pk


# method, path (may name an object), data, status for: anonymous, reader, contributor, admin,
# stranger. Anonymous callers are sent to sign in (302 to the sign-in page).
ROUTES = [
    ("GET", "/workspaces/members/", None, [302, 403, 403, 200, 200]),
    ("POST", "/workspaces/members/add/", {"user": "newcomer"}, [302, 403, 403, 302, 302]),
    ("POST", "/workspaces/members/{member}/role/", {"role": "admin"}, [302, 403, 403, 302, 404]),
    ("POST", "/workspaces/members/{member}/remove/", {}, [302, 403, 403, 302, 404]),
    ("GET", "/workspaces/tokens/", None, [302, 200, 200, 200, 200]),
    ("POST", "/workspaces/tokens/", {"name": "t", "expires_in_days": 1}, [302, 302, 302, 302, 302]),
    ("POST", "/workspaces/tokens/{token}/revoke/", {}, [302, 404, 404, 302, 404]),
    ("GET", "/workspaces/audit/", None, [302, 403, 403, 200, 200]),
    ("POST", "/accounts/logout/everywhere/", {}, [302, 302, 302, 302, 302]),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    "method, path, data, statuses", ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_permission_matrix(client, team, actor, method, path, data, statuses):
    make_user("newcomer")
    url = path.format(member=reader_membership(team), token=admins_token(team))
    if actor != "anonymous":
        client.force_login(getattr(team, actor))
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, {"role": Role.READER, **data})
    expected = statuses[ACTORS.index(actor)]
    assert response.status_code == expected, response.content[:300]
    if actor == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("actor", ACTORS)
def test_microsoft_sign_in_is_404_when_not_configured(client, team, settings, actor):
    settings.MSAL_CLIENT_ID = ""
    if actor != "anonymous":
        client.force_login(getattr(team, actor))
    assert client.get("/accounts/microsoft/").status_code == 404
    assert client.get("/accounts/microsoft/callback/?code=x&state=y").status_code == 404
