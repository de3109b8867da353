"""Members page (Admins): add an existing user, change a role, remove; the last-Admin rule."""

import pytest
from django.urls import reverse

from studio.models import ApiToken, AuditEvent, LastAdminError, Membership, MembershipError, Role
from tests.fixtures.people import make_user

pytestmark = pytest.mark.usefixtures("fast_passwords")

MEMBERS = "/workspaces/members/"
TOKENS = "/workspaces/tokens/"
AUDIT = "/workspaces/audit/"


@pytest.fixture
def as_admin(client, team):
    client.force_login(team.admin)
    return client


def membership(team, user):
    return Membership.objects.get(workspace=team.workspace, user=user)


def test_admin_sees_every_member_of_the_workspace_only(as_admin, team):
    page = as_admin.get(MEMBERS).content.decode()
    for person in (team.admin, team.contributor, team.reader):
        assert person.username in page
    assert team.stranger.username not in page


@pytest.mark.parametrize("who", ["contributor", "reader"])
def test_non_admins_get_403(client, team, who):
    client.force_login(getattr(team, who))
    assert client.get(MEMBERS).status_code == 403
    response = client.post(reverse("workspace_member_add"), {"user": "stranger", "role": "admin"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user=team.stranger, workspace=team.workspace).exists()


def test_anonymous_is_sent_to_sign_in(client, team):
    response = client.get(MEMBERS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_adds_an_existing_user_by_username(as_admin, team):
    newcomer = make_user("newcomer")
    response = as_admin.post(
        reverse("workspace_member_add"), {"user": "Newcomer", "role": "contributor"}, follow=True
    )
    assert "newcomer is now a member." in response.content.decode()
    assert membership(team, newcomer).role == Role.CONTRIBUTOR
    event = AuditEvent.objects.get(action="member.added")
    assert (event.workspace, event.actor, event.details) == (
        team.workspace,
        team.admin,
        {"role": "contributor"},
    )


def test_admin_adds_an_existing_user_by_email(as_admin, team):
    newcomer = make_user("newcomer")
    as_admin.post(
        reverse("workspace_member_add"), {"user": "NEWCOMER@example.com", "role": "reader"}
    )
    assert membership(team, newcomer).role == Role.READER


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({"user": "nobody", "role": "reader"}, 400, "No one called &#x27;nobody&#x27;"),
        ({"user": "", "role": "reader"}, 400, "This field is required"),
        ({"user": "stranger", "role": "owner"}, 400, "Select a valid choice"),
        ({"user": "reader-user", "role": "admin"}, 409, "already a member"),
    ],
    ids=["unknown-user", "empty", "unknown-role", "already-member"],
)
def test_bad_additions_say_why_and_write_nothing(as_admin, team, data, status, message):
    before = Membership.objects.count()
    response = as_admin.post(reverse("workspace_member_add"), data)
    assert response.status_code == status
    assert message in response.content.decode()
    assert Membership.objects.count() == before
    assert membership(team, team.reader).role == Role.READER
    assert not AuditEvent.objects.filter(action="member.added").exists()


def test_admin_changes_a_role(as_admin, team):
    target = membership(team, team.reader)
    response = as_admin.post(reverse("workspace_member_role", args=[target.pk]), {"role": "admin"})
    assert response.status_code == 302
    assert membership(team, team.reader).role == Role.ADMIN
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.details == {"old_role": "reader", "role": "admin"}


def test_the_last_admin_cannot_be_demoted(as_admin, team):
    mine = membership(team, team.admin)
    response = as_admin.post(reverse("workspace_member_role", args=[mine.pk]), {"role": "reader"})
    assert response.status_code == 409
    assert "is the last Admin of Team" in response.content.decode()
    assert membership(team, team.admin).role == Role.ADMIN
    assert not AuditEvent.objects.filter(action="member.role_changed").exists()


def test_the_last_admin_cannot_be_removed(as_admin, team):
    mine = membership(team, team.admin)
    response = as_admin.post(reverse("workspace_member_remove", args=[mine.pk]))
    assert response.status_code == 409
    assert "cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_an_admin_may_step_down_when_another_admin_remains(as_admin, team):
    membership(team, team.contributor).change_role(Role.ADMIN)
    mine = membership(team, team.admin)
    response = as_admin.post(reverse("workspace_member_role", args=[mine.pk]), {"role": "reader"})
    assert response.status_code == 302
    assert membership(team, team.admin).role == Role.READER
    assert as_admin.get(MEMBERS).status_code == 403


def test_admin_removes_a_member(as_admin, team):
    target = membership(team, team.reader)
    response = as_admin.post(reverse("workspace_member_remove", args=[target.pk]), follow=True)
    assert "reader-user is no longer a member." in response.content.decode()
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert AuditEvent.objects.filter(action="member.removed", workspace=team.workspace).exists()


def test_a_membership_of_another_workspace_is_404(as_admin, team):
    theirs = Membership.objects.get(user=team.stranger)
    assert as_admin.post(reverse("workspace_member_remove", args=[theirs.pk])).status_code == 404
    response = as_admin.post(reverse("workspace_member_role", args=[theirs.pk]), {"role": "reader"})
    assert response.status_code == 404
    assert Membership.objects.get(pk=theirs.pk).role == Role.ADMIN


def test_the_rule_lives_on_the_model(team):
    only_admin = membership(team, team.admin)
    with pytest.raises(LastAdminError):
        only_admin.change_role(Role.CONTRIBUTOR)
    with pytest.raises(LastAdminError):
        only_admin.remove()
    with pytest.raises(MembershipError):
        team.workspace.add_member(team.reader, Role.READER)
    assert membership(team, team.admin).role == Role.ADMIN


def test_a_stale_object_cannot_demote_the_last_admin(team):
    membership(team, team.contributor).change_role(Role.ADMIN)
    stale_first, stale_second = membership(team, team.admin), membership(team, team.contributor)
    stale_first.change_role(Role.READER)
    with pytest.raises(LastAdminError):
        stale_second.change_role(Role.READER)


def test_the_page_runs_the_same_queries_for_few_or_many_members(
    as_admin, team, django_assert_max_num_queries
):
    as_admin.get(MEMBERS)
    with django_assert_max_num_queries(12) as few:
        as_admin.get(MEMBERS)
    for n in range(15):
        Membership.objects.create(workspace=team.workspace, user=make_user(f"extra{n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_admin.get(MEMBERS)


def test_after_switching_workspace_the_pages_show_only_that_workspace(client, team):
    Membership.objects.create(workspace=team.other_workspace, user=team.admin, role=Role.ADMIN)
    ApiToken.issue(team.workspace, name="team-token", role=Role.READER, created_by=team.admin)
    ApiToken.issue(
        team.other_workspace, name="other-token", role=Role.READER, created_by=team.admin
    )
    client.force_login(team.admin)
    client.post(reverse("switch_workspace"), {"workspace": team.workspace.pk})
    page = client.get(MEMBERS).content.decode()
    assert "reader-user" in page and "stranger" not in page
    page = client.get(TOKENS).content.decode()
    assert "team-token" in page and "other-token" not in page
    assert {e.workspace for e in client.get(AUDIT).context["page"]} <= {team.workspace, None}
    client.post(reverse("switch_workspace"), {"workspace": team.other_workspace.pk})
    page = client.get(MEMBERS).content.decode()
    assert "stranger" in page and "reader-user" not in page
    page = client.get(TOKENS).content.decode()
    assert "other-token" in page and "team-token" not in page
    audit = client.get(AUDIT).context["page"]
    assert [e.object_repr.split()[0] for e in audit if e.action == "token.created"] == [
        "other-token"
    ]
    reader_membership = membership(team, team.reader)
    response = client.post(reverse("workspace_member_remove", args=[reader_membership.pk]))
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(team):
    import threading

    from django.db import connection

    membership(team, team.contributor).change_role(Role.ADMIN)
    first, second = membership(team, team.admin), membership(team, team.contributor)
    start, outcomes = threading.Barrier(2), []

    def demote(target):
        start.wait()
        try:
            target.change_role(Role.READER)
            outcomes.append("demoted")
        except LastAdminError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["demoted", "refused"]
    assert Membership.objects.filter(workspace=team.workspace, role=Role.ADMIN).count() == 1
