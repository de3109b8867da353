"""Bearer authentication over raw HTTP: API tokens (wrong, expired, revoked) and Entra ID
access tokens with the ``X-Studio-Workspace`` header."""

from datetime import timedelta

import pytest
from django.utils import timezone

from studio.models import ApiToken, Identity, Membership, Role
from tests.fixtures.oidc import TENANT
from tests.fixtures.people import make_user


def assert_401(response, words):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated" and words in error["message"]


def test_no_token_is_401_saying_how_to_send_one(api, fast_passwords, team):
    assert_401(api.get("/workspace"), "Authorization: Bearer")


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer pst_wrong", "Bearer not-even-a-studio-token"],
)
def test_malformed_or_wrong_tokens_are_401(api, fast_passwords, team, header):
    response = api.get("/workspace", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_valid_token_names_its_workspace_and_role(api, fast_passwords, team):
    secret = team.token(Role.CONTRIBUTOR)
    body = api.get("/workspace", secret).json()
    assert body == {
        "Id": str(team.workspace.pk),
        "Name": "Team",
        "Slug": "team",
        "Role": "contributor",
    }
    token = ApiToken.objects.get(name="test contributor")
    assert token.last_used_at is not None
    assert secret not in token.token_hash and len(token.token_hash) == 64


def test_an_expired_token_is_401(api, fast_passwords, team):
    token, secret = ApiToken.issue(
        team.workspace,
        name="old",
        role=Role.ADMIN,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert_401(api.get("/workspace", secret), "expired")


def test_a_revoked_token_is_401_at_once(api, fast_passwords, team):
    secret = team.token(Role.READER)
    assert api.get("/workspace", secret).status_code == 200
    ApiToken.objects.get(name="test reader").revoke(by=team.admin)
    assert_401(api.get("/workspace", secret), "revoked")


@pytest.fixture
def ada(entra, fast_passwords, team):
    """Contributor in Team, Reader in Other, signed in to the studio once before."""
    user = make_user("ada")
    Identity.objects.create(user=user, tenant_id=TENANT, object_id=entra.person["oid"])
    Membership.objects.create(workspace=team.workspace, user=user, role=Role.CONTRIBUTOR)
    Membership.objects.create(workspace=team.other_workspace, user=user, role=Role.READER)
    return user


def test_entra_token_uses_the_workspace_named_in_the_header(api, entra, ada):
    token = entra.token()
    team = api.get("/workspace", token, headers={"X-Studio-Workspace": "team"})
    assert team.status_code == 200, team.text
    assert (team.json()["Slug"], team.json()["Role"]) == ("team", "contributor")
    other = api.get("/workspace", token, headers={"X-Studio-Workspace": "other"})
    assert (other.json()["Slug"], other.json()["Role"]) == ("other", "reader")


def test_entra_token_without_header_uses_the_first_workspace_by_name(api, entra, ada):
    body = api.get("/workspace", entra.token()).json()
    assert (body["Name"], body["Role"]) == ("Other", "reader")


def test_entra_token_for_a_workspace_the_user_is_not_in_is_403(api, entra, ada):
    response = api.get("/workspace", entra.token(), headers={"X-Studio-Workspace": "nowhere"})
    assert response.status_code == 403
    assert "nowhere" in response.json()["error"]["message"]


def test_entra_token_acts_in_the_chosen_workspace_only(api, entra, ada, studio):
    response = api.post(
        f"/pipelines/{studio.pipeline.pk}/publish",
        entra.token(),
        json={"Name": "x"},
        headers={"X-Studio-Workspace": "other"},
    )
    assert response.status_code == 404  # The pipeline is in Team, not in Other.
    allowed = api.post(
        f"/pipelines/{studio.pipeline.pk}/publish",
        entra.token(),
        json={"Name": "x"},
        headers={"X-Studio-Workspace": "team"},
    )
    assert allowed.status_code == 201
    assert allowed.json()["PublishedBy"] == "ada"


def test_expired_entra_token_is_401(api, entra, ada):
    expired = entra.token(exp=int(timezone.now().timestamp()) - 600)
    assert_401(api.get("/workspace", expired), "not valid")


def test_entra_tokens_are_ignored_when_entra_is_off(api, entra, ada, settings):
    token = entra.token()
    settings.MSAL_CLIENT_ID = ""
    assert_401(api.get("/workspace", token), "not valid")
