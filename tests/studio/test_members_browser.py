"""Journey in Chromium: an Admin adds a member, changes the role, removes them; last Admin kept."""

import pytest
from playwright.sync_api import expect

from studio.models import Membership, Role
from tests.fixtures.people import make_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_passwords")]


def test_admin_manages_members(team, page, live_server, sign_in, screenshot, console_errors):
    make_user("newcomer")
    sign_in(team.admin)
    page.get_by_label("User menu").click()
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members of Team")).to_be_visible()

    page.get_by_label("Username or e-mail").fill("newcomer@example.com")
    page.get_by_label("Role", exact=True).select_option("Contributor")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text("newcomer is now a member.")
    row = page.get_by_role("row").filter(has_text="newcomer")
    expect(row.get_by_label("Role of newcomer", exact=True)).to_have_value("contributor")
    screenshot("added")

    row.get_by_label("Role of newcomer", exact=True).select_option("Admin")
    row.get_by_role("button", name="Save role of newcomer").click()
    expect(page.get_by_role("status")).to_have_text("newcomer is now Admin.")
    assert Membership.objects.get(user__username="newcomer").role == Role.ADMIN

    row = page.get_by_role("row").filter(has_text="newcomer")
    row.get_by_role("button", name="Remove newcomer").click()
    expect(page.get_by_role("status")).to_have_text("newcomer is no longer a member.")
    expect(page.get_by_role("row").filter(has_text="newcomer")).to_have_count(0)

    mine = page.get_by_role("row").filter(has_text="admin-user")
    mine.get_by_label("Role of admin-user", exact=True).select_option("Reader")
    mine.get_by_role("button", name="Save role of admin-user").click()
    expect(page.get_by_role("status")).to_contain_text("is the last Admin of Team")
    screenshot("last-admin-kept")
    assert team.workspace.role_of(team.admin) == Role.ADMIN

    page.get_by_label("Username or e-mail").fill("nobody")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert").filter(has_text="No one called")).to_be_visible()
    screenshot("unknown-user")

    page.get_by_label("User menu").click()
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("member.role_changed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{live_server.url}/workspaces/audit/?person=&action=member.role_changed&since=&until="
    )
    rows = page.get_by_role("row").filter(has_text="member.role_changed")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("newcomer")
    screenshot("audit-filtered")
    # The refusals above are 409 and 400 pages, which Chromium reports; nothing else may be.
    assert [
        e for e in console_errors if "status of 409" not in e and "status of 400" not in e
    ] == []


def test_readers_see_no_admin_links(team, page, live_server, sign_in):
    sign_in(team.reader)
    page.get_by_label("User menu").click()
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()
    expect(page.get_by_role("link", name="Members")).to_have_count(0)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
