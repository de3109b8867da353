"""Entra ID access tokens: studio.entra.authenticate_access_token and the REST API's use of it."""

import time

import pytest

from studio.entra import authenticate_access_token
from studio.models import Identity, Membership, Role
from tests.fixtures.oidc import TENANT, SigningKey
from tests.fixtures.people import make_user

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def ada(entra, team):
    """A studio user already linked to the provider's person (as after a first sign-in)."""
    user = make_user("ada")
    Identity.objects.create(user=user, tenant_id=TENANT, object_id=entra.person["oid"])
    Membership.objects.create(workspace=team.workspace, user=user, role=Role.CONTRIBUTOR)
    return user


def test_a_valid_access_token_names_the_user(entra, ada):
    assert authenticate_access_token(entra.token()) == ada


def test_keys_are_fetched_once_and_cached(entra, ada):
    for _ in range(3):
        assert authenticate_access_token(entra.token()) == ada
    assert entra.keys_requests == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 600},
        {"aud": "api://another-app"},
        {"iss": "https://login.example/another-tenant/v2.0"},
        {"exp": None},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-expiry"],
)
def test_an_untrustworthy_access_token_is_refused(entra, ada, changes):
    assert authenticate_access_token(entra.token(**changes)) is None


def test_a_token_for_the_client_id_is_refused_when_the_api_has_its_own_audience(entra, ada):
    assert authenticate_access_token(entra.token(aud="studio-test-client")) is None


def test_a_tampered_signature_is_refused(entra, ada):
    header, payload, signature = entra.token().split(".")
    flipped = ("A" if signature[5] != "A" else "B").join([signature[:5], signature[6:]])
    assert authenticate_access_token(f"{header}.{payload}.{flipped}") is None


def test_a_changed_payload_is_refused(entra, ada):
    header, _, signature = entra.token().split(".")
    _, other_payload, _ = entra.token(oid="someone-else").split(".")
    assert authenticate_access_token(f"{header}.{other_payload}.{signature}") is None


def test_an_unknown_key_id_refetches_the_keys_then_refuses(entra, ada, oidc_keys, settings):
    settings.MSAL_KEYS_MIN_REFRESH_SECONDS = 0
    assert authenticate_access_token(entra.token()) == ada
    assert authenticate_access_token(entra.token(key=oidc_keys[2])) is None
    assert entra.keys_requests == 2


def test_a_rotated_key_is_picked_up_on_first_sight(entra, ada, oidc_keys, settings):
    settings.MSAL_KEYS_MIN_REFRESH_SECONDS = 0
    assert authenticate_access_token(entra.token()) == ada
    entra.published_keys = [oidc_keys[0], oidc_keys[1]]
    assert authenticate_access_token(entra.token(key=oidc_keys[1])) == ada
    assert entra.keys_requests == 2


def test_unknown_key_ids_do_not_hammer_the_provider(entra, ada, oidc_keys):
    assert authenticate_access_token(entra.token()) == ada
    for _ in range(5):
        assert authenticate_access_token(entra.token(key=oidc_keys[2])) is None
    assert entra.keys_requests == 1


def test_a_key_with_a_borrowed_key_id_is_refused(entra, ada):
    forger = SigningKey(entra.published_keys[0].kid)
    assert authenticate_access_token(entra.token(key=forger)) is None


def test_an_unsigned_token_is_refused(entra, ada):
    import jwt

    unsigned = jwt.encode({"oid": entra.person["oid"], "tid": TENANT}, None, algorithm="none")
    assert authenticate_access_token(unsigned) is None
    assert authenticate_access_token("not a jwt") is None


def test_a_person_who_never_signed_in_is_unknown(entra, team):
    assert authenticate_access_token(entra.token()) is None


def test_a_disabled_user_is_refused(entra, ada):
    ada.is_active = False
    ada.save()
    assert authenticate_access_token(entra.token()) is None


def test_nothing_is_accepted_when_entra_is_off(entra, ada, settings):
    settings.MSAL_CLIENT_SECRET = ""
    assert authenticate_access_token(entra.token()) is None


def test_the_api_accepts_an_access_token_with_the_users_role(client, entra, ada):
    response = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {entra.token()}")
    assert response.status_code == 200, response.content
    assert response.json()["Role"] == Role.CONTRIBUTOR


def test_the_api_refuses_an_expired_access_token(client, entra, ada):
    expired = entra.token(exp=int(time.time()) - 600)
    response = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert response.status_code == 401
