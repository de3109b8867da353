"""API tokens and the audit trail over raw HTTP, and ``manage.py create_token``."""

import io

import pytest
from django.core.management import CommandError, call_command

from studio.models import ApiToken, AuditEvent, Role, hash_token


def test_admin_issues_a_token_whose_secret_is_shown_once(api, fast_passwords, team):
    admin = team.token(Role.ADMIN)
    response = api.post(
        "/tokens", admin, json={"Name": "ci", "Role": "contributor", "ExpiresInDays": 30}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["Token"]
    assert secret.startswith("pst_") and body["Hint"] == secret[:10]
    assert body["Role"] == "contributor" and body["ExpiresTime"] is not None
    stored = ApiToken.objects.get(pk=int(body["Id"]))
    assert stored.token_hash == hash_token(secret)
    assert api.get("/workspace", secret).json()["Role"] == "contributor"
    listed = api.get("/tokens", admin).json()["Items"]
    assert "ci" in [t["Name"] for t in listed]
    assert secret not in str(listed) and all("Token" not in t for t in listed)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"Role": "reader"}, "Name"),
        ({"Name": "", "Role": "reader"}, "Name"),
        ({"Name": "   ", "Role": "reader"}, "Name"),
        ({"Name": "x", "Role": "owner"}, "Role"),
        ({"Name": "x", "ExpiresInDays": 0}, "ExpiresInDays"),
        ({"Name": "x", "ExpiresInDays": "soon"}, "ExpiresInDays"),
    ],
)
def test_bad_token_requests_are_400_and_issue_nothing(api, fast_passwords, team, body, field):
    admin = team.token(Role.ADMIN)
    before = ApiToken.objects.count()
    response = api.post("/tokens", admin, json=body)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert ApiToken.objects.count() == before


def test_revoking_a_token_locks_it_out(api, fast_passwords, team):
    admin = team.token(Role.ADMIN)
    victim = team.token(Role.READER)
    token = ApiToken.objects.get(name="test reader")
    response = api.post(f"/tokens/{token.pk}/revoke", admin)
    assert response.status_code == 200 and response.json()["RevokedTime"] is not None
    assert api.get("/workspace", victim).status_code == 401


def test_audit_trail_records_who_did_what_and_pages(api, fast_passwords, team):
    admin = team.token(Role.ADMIN)
    for n in range(3):
        api.post("/tokens", admin, json={"Name": f"t{n}"})
    created = api.get("/audit-events?action=token.created&limit=2", admin)
    assert created.status_code == 200, created.text
    page = created.json()
    assert [e["Object"].split(" ")[0] for e in page["Items"]] == ["t2", "t1"]
    assert page["Items"][0]["Actor"] == "admin-user"
    rest = api.get(f"/audit-events?action=token.created&limit=2&cursor={page['NextCursor']}", admin)
    assert [e["Object"].split(" ")[0] for e in rest.json()["Items"]][0] == "t0"
    by_actor = api.get("/audit-events?actor=admin-user", admin).json()["Items"]
    assert len(by_actor) == AuditEvent.objects.filter(actor_label="admin-user").count()


def test_audit_trail_of_another_workspace_is_not_shown(api, fast_passwords, team):
    api.post("/tokens", team.token(Role.ADMIN), json={"Name": "mine"})
    theirs = api.get("/audit-events", team.token(Role.ADMIN, workspace=team.other_workspace))
    assert "mine" not in str(theirs.json())


def test_bad_audit_cursor_is_400(api, fast_passwords, team):
    response = api.get("/audit-events?cursor=@@", team.token(Role.ADMIN))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_create_token_command_prints_the_secret_once(fast_passwords, team):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_token",
        "--workspace",
        "team",
        "--role",
        "contributor",
        "--name",
        "nightly",
        "--expires-days",
        "7",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    token = ApiToken.authenticate(secret)
    assert token.name == "nightly" and token.role == Role.CONTRIBUTOR
    assert token.workspace == team.workspace and token.expires_at is not None
    assert "not shown again" in err.getvalue() and secret not in err.getvalue()
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--workspace", "nowhere", "--role", "reader"], "known slugs: other, team"),
        (["--workspace", "team", "--role", "reader", "--expires-days", "0"], "between 1"),
        (["--workspace", "team", "--role", "reader", "--name", " "], "--name"),
    ],
)
def test_create_token_command_refuses_bad_arguments(fast_passwords, team, args, words):
    before = ApiToken.objects.count()
    with pytest.raises(CommandError, match=words):
        call_command("create_token", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiToken.objects.count() == before
