"""Journey: sign in as the demo admin, land on Pipeline endpoints, sign out; a wrong password."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", verbosity=0)


def test_demo_admin_signs_in_lands_on_endpoints_and_signs_out(
    demo, page, live_server, screenshot, console_errors
):
    page.goto(live_server.url)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/endpoints/")
    screenshot("sign-in")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-demo-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Pipeline endpoints", exact=True)).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Endpoints")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Runs")).to_be_visible()
    expect(page.get_by_role("link", name="Experiments")).to_be_visible()
    expect(page.get_by_text("Demo", exact=True)).to_be_visible()
    screenshot("pipeline-endpoints")
    page.get_by_label("User menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Pipeline Studio")).to_be_visible()
    page.goto(f"{live_server.url}/endpoints/")
    expect(page.get_by_role("heading", name="Sign in to Pipeline Studio")).to_be_visible()
    assert console_errors == []


def test_wrong_password_shows_a_clear_message(demo, page, live_server, screenshot):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    screenshot("wrong-password")
    expect(page.get_by_role("heading", name="Sign in to Pipeline Studio")).to_be_visible()
