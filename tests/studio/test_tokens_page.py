"""API tokens page: create (secret shown once), list with last use, revoke."""

import logging
from datetime import UTC

import pytest
from django.urls import reverse

from studio.models import ApiToken, AuditEvent, Role

pytestmark = pytest.mark.usefixtures("fast_passwords")

TOKENS = "/workspaces/tokens/"


def create(client, name="ci", role="reader", days="30", follow=False):
    return client.post(TOKENS, {"name": name, "role": role, "expires_in_days": days}, follow=follow)


def test_creating_a_token_shows_its_secret_once(client, team, caplog):
    client.force_login(team.admin)
    with caplog.at_level(logging.DEBUG):
        response = create(client, role="contributor")
        assert (response.status_code, response["Location"]) == (302, TOKENS)
        shown = client.get(TOKENS)
    assert shown.status_code == 200
    secret = shown.context["secret"]
    page = shown.content.decode()
    assert f'value="{secret}"' in page and 'data-copy-target="token-secret"' in page
    assert shown["Cache-Control"].startswith("max-age=0")
    token = ApiToken.objects.get()
    assert (token.name, token.role, token.created_by) == ("ci", Role.CONTRIBUTOR, team.admin)
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    assert secret not in token.token_hash and ApiToken.authenticate(secret) == token
    assert secret not in caplog.text
    for url in (TOKENS, "/workspaces/audit/"):
        assert secret not in client.get(url).content.decode()
    assert AuditEvent.objects.get(action="token.created").actor == team.admin


def test_reloading_after_creating_neither_creates_another_token_nor_shows_the_secret(client, team):
    client.force_login(team.contributor)
    response = create(client, follow=True)
    secret = response.context["secret"]
    assert secret.startswith(ApiToken.PREFIX) and secret in response.content.decode()
    assert response.redirect_chain == [(TOKENS, 302)]
    reloaded = client.get(TOKENS)  # what the browser's reload sends after the redirect
    assert reloaded.status_code == 200 and reloaded.context["secret"] is None
    assert secret not in reloaded.content.decode()
    assert "Your new token" not in reloaded.content.decode()
    assert ApiToken.objects.count() == 1
    assert AuditEvent.objects.filter(action="token.created").count() == 1


def test_the_secret_waits_in_the_session_only_until_shown(client, team):
    client.force_login(team.admin)
    create(client)
    assert client.session.get("new_token_secret", "").startswith(ApiToken.PREFIX)
    client.get(TOKENS)
    assert "new_token_secret" not in client.session


def test_the_new_secret_works_against_the_api(client, team):
    client.force_login(team.admin)
    secret = create(client, role="contributor", follow=True).context["secret"]
    response = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["Role"] == "contributor"


@pytest.mark.parametrize(
    "who, allowed", [("reader", ["reader"]), ("contributor", ["reader", "contributor"])]
)
def test_roles_offered_go_up_to_ones_own(client, team, who, allowed):
    client.force_login(getattr(team, who))
    offered = [value for value, _ in client.get(TOKENS).context["form"].fields["role"].choices]
    assert offered == allowed


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "role": "admin", "expires_in_days": "30"}, "Select a valid choice"),
        ({"name": "", "role": "reader", "expires_in_days": "30"}, "This field is required"),
        ({"name": "x", "role": "reader", "expires_in_days": "0"}, "greater than or equal to 1"),
        ({"name": "x", "role": "reader", "expires_in_days": "999"}, "less than or equal to 365"),
        ({"name": "x", "role": "reader", "expires_in_days": "soon"}, "Enter a whole number"),
    ],
    ids=["role-above-own", "no-name", "zero-days", "too-long", "not-a-number"],
)
def test_bad_input_says_why_and_writes_nothing(client, team, data, message):
    client.force_login(team.contributor)
    response = client.post(TOKENS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["secret"] is None
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="token.").exists()


def test_the_list_shows_last_use_and_hides_other_peoples_tokens_from_non_admins(client, team):
    used, secret = ApiToken.issue(
        team.workspace, name="used-one", role="reader", created_by=team.reader
    )
    ApiToken.authenticate(secret)
    ApiToken.issue(team.workspace, name="admins-one", role="admin", created_by=team.admin)
    ApiToken.issue(
        team.other_workspace, name="strangers-one", role="admin", created_by=team.stranger
    )
    client.force_login(team.reader)
    page = client.get(TOKENS).content.decode()
    used.refresh_from_db()
    last_use = used.last_used_at.astimezone(UTC).isoformat(timespec="seconds")
    assert "used-one" in page and f'<time datetime="{last_use}" data-local="relative"' in page
    assert "admins-one" not in page and "strangers-one" not in page
    client.force_login(team.admin)
    page = client.get(TOKENS).content.decode()
    assert "used-one" in page and "admins-one" in page and "strangers-one" not in page
    assert used.hint in page and secret not in page


def test_a_member_revokes_their_own_token(client, team):
    token, secret = ApiToken.issue(
        team.workspace, name="mine", role="reader", created_by=team.reader
    )
    client.force_login(team.reader)
    response = client.post(reverse("workspace_token_revoke", args=[token.pk]), follow=True)
    assert "The token &#x27;mine&#x27; is revoked." in response.content.decode()
    assert ApiToken.authenticate(secret) is None
    assert AuditEvent.objects.get(action="token.revoked").actor == team.reader


def test_only_admins_revoke_other_peoples_tokens(client, team):
    token, secret = ApiToken.issue(
        team.workspace, name="admins", role="admin", created_by=team.admin
    )
    client.force_login(team.contributor)
    assert client.post(reverse("workspace_token_revoke", args=[token.pk])).status_code == 404
    assert ApiToken.authenticate(secret) is not None
    theirs, _ = ApiToken.issue(team.workspace, name="c", role="reader", created_by=team.contributor)
    client.force_login(team.admin)
    assert client.post(reverse("workspace_token_revoke", args=[theirs.pk])).status_code == 302
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is not None


def test_a_token_of_another_workspace_is_404(client, team):
    token, secret = ApiToken.issue(
        team.other_workspace, name="t", role="admin", created_by=team.stranger
    )
    client.force_login(team.admin)
    assert client.post(reverse("workspace_token_revoke", args=[token.pk])).status_code == 404
    assert ApiToken.authenticate(secret) is not None


def test_revoking_needs_post(client, team):
    token, _ = ApiToken.issue(team.workspace, name="t", role="reader", created_by=team.admin)
    client.force_login(team.admin)
    assert client.get(reverse("workspace_token_revoke", args=[token.pk])).status_code == 405


def test_the_page_runs_the_same_queries_for_few_or_many_tokens(
    client, team, django_assert_max_num_queries
):
    client.force_login(team.admin)
    ApiToken.issue(team.workspace, name="t0", role="reader", created_by=team.admin)
    client.get(TOKENS)
    with django_assert_max_num_queries(12) as few:
        client.get(TOKENS)
    for n in range(20):
        ApiToken.issue(team.workspace, name=f"t{n}", role="reader", created_by=team.reader)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(TOKENS)
