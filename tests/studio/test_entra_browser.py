"""Journey in Chromium: "Sign in with Microsoft" against the local OpenID provider."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The provider's certificate comes from a CA made in the test; Chromium does not know it.
    return {**browser_context_args, "ignore_https_errors": True}


def test_sign_in_with_microsoft_ends_signed_in(
    entra, team, settings, page, live_server, screenshot, console_errors
):
    settings.MSAL_GROUP_ROLES = {"g-team": {"workspace": "team", "role": "contributor"}}
    entra.person = {**entra.person, "groups": ["g-team"]}
    page.goto(f"{live_server.url}/runs/")
    screenshot("sign-in-page")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(page.get_by_label("User menu")).to_have_text("Ada Lovelace")
    expect(page.get_by_role("banner").get_by_text("Contributor", exact=True)).to_be_visible()
    screenshot("signed-in")
    assert console_errors == []


def test_a_refused_microsoft_sign_in_shows_why_and_stays_signed_out(
    entra, db, page, live_server, screenshot
):
    entra.id_token_changes = {"aud": "another-app"}
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_role("alert")).to_contain_text("issued for another application")
    screenshot("refused")
    page.goto(f"{live_server.url}/endpoints/")
    expect(page.get_by_role("heading", name="Sign in to Pipeline Studio")).to_be_visible()
