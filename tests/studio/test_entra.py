"""Sign in with Microsoft Entra ID against the local OpenID provider (tests/fixtures/oidc.py)."""

import logging
from urllib.parse import parse_qsl, urlparse

import pytest
import requests
from django.contrib.auth import get_user_model

from studio.models import AuditEvent, Identity, Membership, Role
from tests.fixtures.oidc import SigningKey
from tests.fixtures.people import make_user

pytestmark = pytest.mark.usefixtures("fast_passwords")

User = get_user_model()


def provider_answer(entra, authorize_url: str) -> str:
    """What the browser does at Microsoft: follow the authorize URL to the callback URL."""
    http = requests.Session()
    http.trust_env = False
    response = http.get(authorize_url, verify=str(entra.tls.ca), allow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def start(client, next_url: str = "") -> str:
    response = client.get("/accounts/microsoft/", {"next": next_url} if next_url else {})
    assert response.status_code == 302
    return response["Location"]


def come_back(client, callback_url: str):
    url = urlparse(callback_url)
    return client.get(url.path, dict(parse_qsl(url.query)))


def sign_in_with_microsoft(client, entra, next_url: str = ""):
    return come_back(client, provider_answer(entra, start(client, next_url)))


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def assert_refused(response, message: str):
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["entra_error"]
    assert signed_in_user_id(response.client) is None


@pytest.mark.django_db
def test_the_sign_in_page_offers_microsoft_only_when_configured(client, settings):
    settings.MSAL_CLIENT_ID = ""
    assert "Sign in with Microsoft" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/microsoft/").status_code == 404


def test_sign_in_page_shows_the_microsoft_button(client, entra, db):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Microsoft" in page


def test_authorize_request_carries_state_nonce_and_pkce(client, entra, db):
    query = dict(parse_qsl(urlparse(start(client)).query))
    assert query["state"] and query["nonce"] and query["code_challenge"]
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://testserver/accounts/microsoft/callback/"


def test_first_sign_in_creates_the_user_from_the_token(client, entra, db):
    response = sign_in_with_microsoft(client, entra, next_url="/runs/")
    assert response.status_code == 302
    assert response["Location"] == "/runs/"
    user = User.objects.get(pk=signed_in_user_id(client))
    assert user.username == "ada@contoso.example"
    assert (user.first_name, user.last_name, user.email) == (
        "Ada",
        "Lovelace",
        "ada@contoso.example",
    )
    assert not user.has_usable_password()
    identity = Identity.objects.get(user=user)
    assert identity.object_id == entra.person["oid"]
    event = AuditEvent.objects.get(action="user.signed_in", actor=user)
    assert event.details["method"] == "microsoft"


def test_codes_and_tokens_never_reach_the_logs(client, entra, db, caplog):
    caplog.set_level(logging.INFO)
    callback = provider_answer(entra, start(client))
    come_back(client, callback)
    client.logout()
    come_back(client, callback)  # refused: logged as a bad request
    code = dict(parse_qsl(urlparse(callback).query))["code"]
    assert entra.issued and caplog.text
    for secret in [code, *entra.issued]:
        assert secret not in caplog.text


def test_next_sign_in_finds_the_same_person_by_object_id_and_refreshes_the_name(client, entra, db):
    sign_in_with_microsoft(client, entra)
    first = signed_in_user_id(client)
    client.logout()
    entra.person = {**entra.person, "name": "Ada King", "preferred_username": "ada.king@x.example"}
    sign_in_with_microsoft(client, entra)
    assert signed_in_user_id(client) == first
    assert User.objects.count() == 1
    assert User.objects.get().last_name == "King"


def test_an_offsite_next_address_is_ignored(client, entra, db):
    response = sign_in_with_microsoft(client, entra, next_url="https://evil.example/")
    assert response["Location"] == "/endpoints/"


def test_a_local_account_of_the_same_name_is_never_taken_over(client, entra, db):
    local = make_user("ada@contoso.example")
    sign_in_with_microsoft(client, entra)
    user = User.objects.get(pk=signed_in_user_id(client))
    assert user != local
    assert user.username == "ada@contoso.example-2"


def test_group_mapping_adds_the_member_with_the_role(client, entra, team, settings):
    settings.MSAL_GROUP_ROLES = {"g-data": {"workspace": "team", "role": "contributor"}}
    entra.person = {**entra.person, "groups": ["g-data", "g-unmapped"]}
    response = sign_in_with_microsoft(client, entra)
    user = User.objects.get(pk=signed_in_user_id(client))
    assert team.workspace.role_of(user) == Role.CONTRIBUTOR
    assert AuditEvent.objects.filter(action="member.added", actor_label="system").exists()
    assert client.get(response["Location"]).status_code == 200


def test_group_mapping_never_lowers_a_role_given_in_the_studio(client, entra, team, settings):
    settings.MSAL_GROUP_ROLES = {"g-data": {"workspace": "team", "role": "reader"}}
    entra.person = {**entra.person, "groups": ["g-data"]}
    sign_in_with_microsoft(client, entra)
    user = User.objects.get(pk=signed_in_user_id(client))
    Membership.objects.filter(user=user).update(role=Role.ADMIN)
    client.logout()
    sign_in_with_microsoft(client, entra)
    assert team.workspace.role_of(user) == Role.ADMIN


def test_a_malformed_group_mapping_is_skipped(client, entra, team, settings):
    settings.MSAL_GROUP_ROLES = {"g-1": "team", "g-2": {"workspace": "nope", "role": "admin"}}
    entra.person = {**entra.person, "groups": ["g-1", "g-2"]}
    assert sign_in_with_microsoft(client, entra).status_code == 302
    assert not Membership.objects.filter(user_id=signed_in_user_id(client)).exists()


def test_a_wrong_state_is_refused(client, entra, db):
    callback = provider_answer(entra, start(client))
    response = come_back(client, callback.replace("state=", "state=forged"))
    assert_refused(response, "does not match this sign-in")
    assert entra.token_requests == 0


def test_a_callback_without_a_started_sign_in_is_refused(client, entra, db):
    callback = provider_answer(entra, start(client))
    client.session.flush()
    assert_refused(come_back(client, callback), "expired or was already used")


def test_replaying_the_same_answer_is_refused(client, entra, db):
    callback = provider_answer(entra, start(client))
    assert come_back(client, callback).status_code == 302
    client.logout()
    assert_refused(come_back(client, callback), "expired or was already used")


def test_a_used_code_is_refused_by_the_provider(client, entra, db):
    used = dict(parse_qsl(urlparse(provider_answer(entra, start(client))).query))
    come_back(client, f"/accounts/microsoft/callback/?code={used['code']}&state={used['state']}")
    client.logout()
    fresh = dict(parse_qsl(urlparse(provider_answer(entra, start(client))).query))
    response = come_back(
        client, f"/accounts/microsoft/callback/?code={used['code']}&state={fresh['state']}"
    )
    assert_refused(response, "Microsoft refused the sign-in code (invalid_grant)")


def test_a_tampered_code_is_refused(client, entra, db):
    callback = provider_answer(entra, start(client))
    response = come_back(client, callback.replace("code=", "code=x"))
    assert_refused(response, "Microsoft refused the sign-in code (invalid_grant)")


def test_an_error_answer_from_microsoft_is_shown(client, entra, db):
    start(client)
    response = client.get("/accounts/microsoft/callback/", {"error": "access_denied"})
    assert_refused(response, "Microsoft did not sign you in (access_denied)")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"exp": 1_000_000}, "has expired"),
        ({"aud": "another-app"}, "issued for another application"),
        ({"iss": "https://login.example/other-tenant/v2.0"}, "not issued by the configured"),
        ({"oid": None}, "names no user"),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-object-id"],
)
def test_an_untrustworthy_id_token_is_refused(client, entra, db, changes, message):
    entra.id_token_changes = changes
    assert_refused(sign_in_with_microsoft(client, entra), message)
    assert not User.objects.exists()


def test_an_id_token_signed_with_an_unpublished_key_is_refused(client, entra, oidc_keys, db):
    entra.signing_key = oidc_keys[2]
    assert_refused(sign_in_with_microsoft(client, entra), "key Microsoft does not publish")
    assert not User.objects.exists()


def test_an_id_token_with_a_forged_key_id_is_refused(client, entra, db):
    forger = SigningKey(entra.published_keys[0].kid)  # same kid, another private key
    entra.signing_key = forger
    assert_refused(sign_in_with_microsoft(client, entra), "signature does not match")


def test_a_disabled_account_cannot_sign_in(client, entra, db):
    sign_in_with_microsoft(client, entra)
    User.objects.update(is_active=False)
    client.logout()
    assert_refused(sign_in_with_microsoft(client, entra), "disabled")


def test_an_unreachable_provider_gives_a_clear_message(client, entra, db):
    entra.stop()
    response = client.get("/accounts/microsoft/")
    assert response.status_code == 502
    assert "unreachable" in response.content.decode()
    entra.start()
