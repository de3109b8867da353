"""Audit page (Admins): who did what and when, filterable by person, action and date, paged."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from studio.models import AuditEvent, Role

pytestmark = pytest.mark.usefixtures("fast_passwords")

AUDIT = "/workspaces/audit/"


def event(workspace, actor, action, when=None, **details):
    made = AuditEvent.record(workspace, actor, action, None, **details)
    if when is not None:
        AuditEvent.objects.filter(pk=made.pk).update(created_at=when)
    return made


def rows(response):
    return [(e.actor_label, e.action) for e in response.context["page"]]


@pytest.fixture
def as_admin(client, team):
    client.force_login(team.admin)
    AuditEvent.objects.all().delete()
    return client


def test_admins_see_the_workspace_and_its_members_sign_ins_only(as_admin, team):
    event(team.workspace, team.contributor, "published.disabled")
    event(None, team.reader, "user.signed_in", method="password")
    event(None, team.stranger, "user.signed_in", method="password")
    event(team.other_workspace, team.stranger, "published.disabled")
    response = as_admin.get(AUDIT)
    assert response.status_code == 200
    assert sorted(rows(response)) == [
        ("contributor-user", "published.disabled"),
        ("reader-user", "user.signed_in"),
    ]
    assert "method:</span> password" in response.content.decode()


@pytest.mark.parametrize("who", ["contributor", "reader"])
def test_non_admins_get_403(client, team, who):
    client.force_login(getattr(team, who))
    assert client.get(AUDIT).status_code == 403


def test_filter_by_person_and_action(as_admin, team):
    event(team.workspace, team.contributor, "published.disabled")
    event(team.workspace, team.contributor, "token.created")
    event(team.workspace, team.admin, "token.created")
    response = as_admin.get(AUDIT, {"person": "contributor-user", "action": "token.created"})
    assert rows(response) == [("contributor-user", "token.created")]
    assert response.context["form"].fields["action"].choices == [
        ("", "Any action"),
        ("published.disabled", "published.disabled"),
        ("token.created", "token.created"),
    ]


def test_filter_by_date_range_includes_both_days(as_admin, team):
    for day in (1, 2, 3, 4):
        event(team.workspace, team.admin, f"day{day}", when=datetime(2026, 3, day, 12, tzinfo=UTC))
    event(team.workspace, team.admin, "late", when=datetime(2026, 3, 3, 23, 59, tzinfo=UTC))
    response = as_admin.get(AUDIT, {"since": "2026-03-02", "until": "2026-03-03"})
    assert {action for _, action in rows(response)} == {"day2", "day3", "late"}


@pytest.mark.parametrize(
    "query, message",
    [
        ({"since": "yesterday"}, "Enter a valid date"),
        ({"since": "2026-03-04", "until": "2026-03-01"}, "The start date is after the end date"),
        ({"action": "no.such.action"}, "Select a valid choice"),
    ],
    ids=["bad-date", "reversed-range", "unknown-action"],
)
def test_bad_filters_are_400_with_a_message(as_admin, team, query, message):
    event(team.workspace, team.admin, "token.created")
    response = as_admin.get(AUDIT, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_pages_keep_the_filters_in_the_url(as_admin, team):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(120):
        event(team.workspace, team.admin, "token.created", when=start + timedelta(minutes=n))
    event(team.workspace, team.reader, "published.disabled")
    first = as_admin.get(AUDIT, {"action": "token.created"})
    assert len(first.context["page"]) == 50
    assert first.context["page"].paginator.count == 120
    assert "?action=token.created&amp;page=2" in first.content.decode()
    last = as_admin.get(AUDIT, {"action": "token.created", "page": "3"})
    assert len(last.context["page"]) == 20
    newest_first = [e.created_at for e in first.context["page"]]
    assert newest_first == sorted(newest_first, reverse=True)


def test_the_page_runs_the_same_queries_for_few_or_many_events(
    as_admin, team, django_assert_max_num_queries
):
    event(team.workspace, team.admin, "token.created")
    as_admin.get(AUDIT)
    with django_assert_max_num_queries(14) as few:
        as_admin.get(AUDIT)
    for n in range(40):
        event(team.workspace, team.reader if n % 2 else team.admin, f"action{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_admin.get(AUDIT)


def test_membership_and_token_changes_from_the_pages_are_audited(as_admin, team):
    reader = team.workspace.memberships.get(user=team.reader)
    as_admin.post(reverse("workspace_member_role", args=[reader.pk]), {"role": Role.CONTRIBUTOR})
    as_admin.post("/workspaces/tokens/", {"name": "ci", "role": "reader", "expires_in_days": "7"})
    actions = {action for _, action in rows(as_admin.get(AUDIT, {"person": "admin-user"}))}
    assert {"member.role_changed", "token.created"} <= actions
