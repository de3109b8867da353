"""Journey in Chromium: create an API token, copy its secret once, see it used, revoke it."""

import re

import pytest
from playwright.sync_api import expect

from studio.models import ApiToken

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_passwords")]


def test_contributor_creates_copies_and_revokes_a_token(
    team, page, live_server, sign_in, screenshot, console_errors
):
    sign_in(team.contributor)
    page.get_by_label("User menu").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_label("Role")).to_contain_text("Contributor")
    expect(page.get_by_label("Role").locator("option")).to_have_count(2)  # no Admin

    page.get_by_label("Name").fill("nightly scheduler")
    page.get_by_label("Role").select_option("Contributor")
    page.get_by_label("Expires in (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    secret_box = page.get_by_label("Token", exact=True)
    expect(secret_box).to_have_value(re.compile(f"^{ApiToken.PREFIX}"))
    secret = secret_box.input_value()
    assert secret.startswith(ApiToken.PREFIX)
    assert ApiToken.authenticate(secret).name == "nightly scheduler"
    new_token = page.get_by_role("status", name="Your new token")
    new_token.get_by_role("button", name="Copy").click()
    expect(new_token.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator("#sdk-install-lines")).to_contain_text(
        f"export STUDIO_URL={live_server.url} STUDIO_TOKEN={secret}"
    )
    screenshot("secret-shown-once")

    page.goto(f"{live_server.url}/workspaces/tokens/")
    assert secret not in page.content()
    row = page.get_by_role("row").filter(has_text="nightly scheduler")
    # Used just now, by authenticate() above: a time, not "never".
    expect(row).not_to_contain_text("never")
    expect(row).to_contain_text("Active")
    screenshot("listed")

    row.get_by_role("button", name="Revoke nightly scheduler").click()
    expect(page.get_by_role("status")).to_have_text("The token 'nightly scheduler' is revoked.")
    expect(page.get_by_role("row").filter(has_text="nightly scheduler")).to_contain_text("Revoked")
    assert ApiToken.authenticate(secret) is None
    screenshot("revoked")
    assert console_errors == []
