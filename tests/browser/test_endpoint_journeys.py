"""Journeys through the endpoints pages in Chromium: browse, search, copy, toggle, roll back."""

import re

import pytest
import requests
from playwright.sync_api import expect

from pipelines.models import PipelineRun, PublishedPipeline
from studio.models import AuditEvent, Role
from tests.fixtures.browser import SCREENSHOTS
from tests.fixtures.pages import graph
from tests.fixtures.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue(studio_data):
    """30 endpoints (two pages), one of them "Churn scoring" with two versions."""
    old = studio_data.published("Churn trainer", "1.0")
    new = studio_data.published("Churn trainer", "2.0", graph=graph({"pipeline_arg": 20}))
    churn = studio_data.endpoint("Churn scoring", [old, new], default=1, description="Weekly churn")
    studio_data.run(endpoint=churn, status="Finished")
    for i in range(29):
        studio_data.endpoint(f"Forecast {i:02}", description="Sales forecast")
    return churn


def test_browse_and_search_endpoints(
    page, live_server, sign_in, team, catalogue, screenshot, console_errors
):
    sign_in(team.reader)
    expect(page.get_by_role("heading", name="Pipeline endpoints", exact=True)).to_be_visible()
    expect(page.locator("#results tbody tr")).to_have_count(25)
    screenshot("endpoints-1280")
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#results tbody tr")).to_have_count(5)
    page.get_by_label("Search").fill("churn")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=churn"))
    row = page.locator("#results tbody tr")
    expect(row).to_contain_text("Churn scoring")
    expect(row).to_contain_text("Weekly churn")
    expect(row).to_contain_text("Finished")
    screenshot("search-churn")
    page.get_by_label("Search").fill("nothing like this")
    expect(page.get_by_text("No endpoint matches")).to_be_visible()
    page.set_viewport_size({"width": 768, "height": 900})
    page.get_by_label("Search").fill("")
    expect(page.locator("#results tbody tr")).to_have_count(25)
    screenshot("endpoints-768")
    assert console_errors == []


def test_open_an_endpoint_and_copy_its_url(
    page, live_server, sign_in, team, catalogue, screenshot, console_errors
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(team.reader)
    page.get_by_role("link", name="Churn scoring").click()
    expect(page.get_by_role("heading", name="Churn scoring")).to_be_visible()
    url = f"{live_server.url}/api/v1/pipeline-endpoints/{catalogue.pk}/runs"
    expect(page.locator("#rest-url")).to_have_text(url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot("overview")
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("row", name=re.compile("Churn trainer 2.0"))).to_contain_text("Default")
    page.get_by_role("link", name="Consume").click()
    expect(page.locator("#snippet-curl")).to_contain_text(url)
    expect(page.locator("#snippet-sdk")).to_contain_text("'pipeline_arg': 20")
    expect(page.locator("#sdk-install-lines")).to_contain_text(
        f"pip install {live_server.url}/sdk/pipeline_studio_sdk-"
    )
    screenshot("consume")
    page.get_by_role("link", name="Runs", exact=True).last.click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert console_errors == []


def test_set_an_older_version_as_default_and_the_next_run_uses_it(
    page, live_server, sign_in, team, catalogue, screenshot, console_errors
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(team.admin)
    page.goto(f"{live_server.url}/endpoints/{catalogue.pk}/versions/")
    row = page.get_by_role("row", name=re.compile("Churn trainer 1.0"))
    row.get_by_role("button", name="Set as default").click()
    expect(page.get_by_text("Version 0 is now the default.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Churn trainer 1.0"))).to_contain_text("Default")
    screenshot("rolled-back")
    page.get_by_role("link", name="Submit").click()
    expect(page.get_by_label("Pipeline version")).to_have_value("0")
    expect(page.get_by_label("pipeline_arg")).to_have_value("10")  # version 0's default
    page.get_by_label("Experiment name").fill("rollback-check")
    page.get_by_role("button", name="Submit").click()  # in the dialog; the run page follows
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+$"))).to_be_visible(timeout=15_000)
    expect(page.locator("main")).to_contain_text("Churn scoring version 0")
    run = PipelineRun.objects.latest("id")
    assert run.endpoint_version == "0" and run.published_pipeline.version == "1.0"
    screenshot("run-of-version-0")
    assert console_errors == []


def test_submit_form_shows_errors_beside_the_field(
    page, live_server, sign_in, team, catalogue, screenshot
):
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/endpoints/{catalogue.pk}/submit/")
    page.get_by_label("Experiment name").fill("exp")
    page.get_by_label("Pipeline version").select_option("0")
    expect(page.get_by_label("pipeline_arg")).to_have_value("10")
    expect(page.get_by_label("Experiment name")).to_have_value("exp")
    page.get_by_label("pipeline_arg").fill("2.5")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#id_p_pipeline_arg_error")).to_contain_text("pipeline_arg")
    screenshot("bad-parameter")
    assert PipelineRun.objects.count() == 1  # only the catalogue's earlier run


def test_admin_disables_a_published_pipeline_and_enables_it_again(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    studio_data.published("Keeper")
    studio_data.published("Retiring")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    sign_in(team.admin)
    page.get_by_role("link", name="Published pipelines").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    screenshot("published")
    page.get_by_role("row", name=re.compile("Retiring")).get_by_role(
        "button", name="Disable"
    ).click()
    # The row becomes a note saying where it went, and the message says what happened.
    expect(page.locator("#results tbody tr.notice-row")).to_contain_text("hidden from this list")
    expect(page.locator("#messages")).to_contain_text("“Retiring 1.0” is now Disabled.")
    expect(page.locator("#results tbody tr:not(.notice-row)")).to_have_count(1)
    screenshot("disabled-note")
    assert "Disable “Retiring”?" in dialogs[0]
    assert PublishedPipeline.objects.get(name="Retiring").status == "Disabled"
    page.get_by_label("Show disabled").check()
    expect(page).to_have_url(re.compile(r"show_disabled=on"))
    retiring = page.get_by_role("row", name=re.compile("Retiring"))
    expect(retiring).to_contain_text("Disabled")
    screenshot("show-disabled")
    retiring.get_by_role("button", name="Enable").click()
    expect(retiring).to_contain_text("Active")
    expect(retiring.get_by_role("button", name="Disable")).to_be_visible()
    assert PublishedPipeline.objects.get(name="Retiring").status == "Active"
    assert console_errors == []


def test_reader_sees_no_disable_and_a_forged_post_is_403(
    page, live_server, sign_in, team, studio_data, screenshot
):
    published = studio_data.published("Protected")
    sign_in(team.reader)
    page.goto(f"{live_server.url}/published/")
    expect(page.get_by_role("row", name=re.compile("Protected"))).to_be_visible()
    expect(page.get_by_role("button", name="Disable")).to_have_count(0)
    screenshot("reader")
    status = page.evaluate(
        """async (url) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const response = await fetch(url, {method: "POST", headers: {"X-CSRFToken": token}});
            return response.status;
        }""",
        f"/published/{published.pk}/disable/",
    )
    assert status == 403
    published.refresh_from_db()
    assert published.status == "Active"


def test_html_in_names_and_descriptions_is_shown_as_text(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    published = studio_data.published(
        "<b>bold</b>", description="<script>window.pwned = 1</script>"
    )
    studio_data.endpoint("<i>tilted</i>", [published], description="<img src=x onerror=alert(1)>")
    sign_in(team.admin)
    expect(page.get_by_text("<i>tilted</i>")).to_be_visible()
    expect(page.get_by_text("<img src=x onerror=alert(1)>")).to_be_visible()
    page.goto(f"{live_server.url}/published/{published.pk}/")
    expect(page.get_by_role("heading", name="<b>bold</b>")).to_be_visible()
    expect(page.get_by_text("<script>window.pwned = 1</script>")).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main b, main i, main img").count() == 0
    screenshot("escaped")
    run = studio_data.run(published=published, parameters={"note": "<b>not bold</b>"})
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.get_by_text("<b>not bold</b>")).to_be_visible()
    assert page.locator("main b").count() == 0
    assert console_errors == []


def test_disable_on_the_published_page_asks_first(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    published = studio_data.published("Careful")
    answers = iter([False, True])
    page.on("dialog", lambda dialog: dialog.accept() if next(answers) else dialog.dismiss())
    sign_in(team.admin)
    page.goto(f"{live_server.url}/published/{published.pk}/")
    page.get_by_role("button", name="Disable").click()  # dismissed: nothing happens
    expect(page.locator(".page-head .status")).to_have_text("Active")
    published.refresh_from_db()
    assert published.status == "Active"
    page.get_by_role("button", name="Disable").click()  # accepted
    expect(page.get_by_text("“Careful 1.0” is now Disabled.")).to_be_visible()
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    published.refresh_from_db()
    assert published.status == "Disabled"
    screenshot("disabled-page")
    assert console_errors == []


def test_admin_disables_an_endpoint_and_its_rest_url_refuses_runs(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    endpoint = studio_data.endpoint("Nightly scoring")
    token = team.token(Role.CONTRIBUTOR)
    rest = f"{live_server.url}/api/v1/pipeline-endpoints/{endpoint.pk}/runs"
    body = {"ExperimentName": "nightly"}
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    sign_in(team.admin)
    page.goto(f"{live_server.url}/endpoints/{endpoint.pk}/")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("“Nightly scoring” is now Disabled.")).to_be_visible()
    assert "Disable “Nightly scoring”?" in dialogs[0]
    expect(page.locator(".page-head .status")).to_have_text("Disabled")
    expect(page.get_by_role("link", name="Submit")).to_have_count(0)
    screenshot("endpoint-disabled")
    refused = requests.post(rest, json=body, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 409 and "Nightly scoring" in refused.json()["error"]["message"]
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("“Nightly scoring” is now Active.")).to_be_visible()
    expect(page.get_by_role("link", name="Submit")).to_be_visible()
    taken = requests.post(rest, json=body, headers={"Authorization": f"Bearer {token}"})
    assert taken.status_code == 201
    assert [e.action for e in AuditEvent.objects.order_by("id")][-2:] == [
        "endpoint.disabled",
        "endpoint.enabled",
    ]
    assert console_errors == []


def test_only_admins_see_the_endpoint_switch(page, live_server, sign_in, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/endpoints/{endpoint.pk}/")
    expect(page.get_by_role("link", name="Submit")).to_be_visible()
    expect(page.get_by_role("button", name="Disable")).to_have_count(0)


def test_the_submit_dialogs_version_picker_swaps_its_fields_in_place(
    page, live_server, sign_in, team, studio_data, catalogue, screenshot, console_errors
):
    """Choosing another version in the Submit dialog swaps the parameter fields inside the
    open dialog (no page load), keeps what was typed, and the run takes that version."""
    widened = studio_data.published(
        "Churn trainer", "3.0", graph=graph({"pipeline_arg": 30, "window": "7d"})
    )
    catalogue.versions.create(number=2, published_pipeline=widened, added_by=team.admin)
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/endpoints/{catalogue.pk}/")
    page.evaluate("window.samePage = true")  # gone if the page reloads
    page.get_by_role("link", name="Submit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("pipeline_arg")).to_have_value("20")  # the default version, 1
    expect(dialog.get_by_label("window")).to_have_count(0)
    dialog.get_by_label("Experiment name").fill("widened")
    dialog.get_by_text("Description and tags").click()
    dialog.get_by_label("Description").fill("three weeks")
    dialog.get_by_label("Pipeline version").select_option("2")
    expect(dialog.get_by_label("window")).to_have_value("7d")
    expect(dialog.get_by_label("pipeline_arg")).to_have_value("30")
    expect(dialog.get_by_label("Experiment name")).to_have_value("widened")
    expect(dialog.get_by_label("Description")).to_have_value("three weeks")
    expect(dialog.get_by_label("Pipeline version")).to_be_focused()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()  # still the dialog's form
    assert page.evaluate("window.samePage") is True
    expect(page).to_have_url(f"{live_server.url}/endpoints/{catalogue.pk}/")
    screenshot("version-2-in-dialog")
    dialog.get_by_label("window").fill("21d")
    dialog.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+$"))).to_be_visible(timeout=15_000)
    run = PipelineRun.objects.latest("id")
    assert run.endpoint_version == "2" and run.published_pipeline_id == widened.pk
    assert run.parameters == {"pipeline_arg": 30, "window": "21d"}
    assert run.experiment.name == "widened" and run.description == "three weeks"
    assert console_errors == []


def test_the_version_picker_works_without_javascript(browser, live_server, team, catalogue):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(team.contributor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{live_server.url}/endpoints/{catalogue.pk}/")
    page.get_by_role("link", name="Submit").click()  # the Submit page
    expect(page).to_have_url(f"{live_server.url}/endpoints/{catalogue.pk}/submit/")
    page.get_by_label("Experiment name").fill("no-js")
    page.get_by_label("Pipeline version").select_option("0")
    # The form's default button (Enter in a field) is still Submit.
    expect(page.locator("#submit-form [type=submit]").first).to_have_text("Submit")
    page.get_by_role("button", name="Show this version's parameters").click()
    expect(page.get_by_label("pipeline_arg")).to_have_value("10")
    expect(page.get_by_label("Experiment name")).to_have_value("no-js")
    expect(page.get_by_label("Pipeline version")).to_have_value("0")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "no-javascript-version-0.png"), full_page=True)
    assert PipelineRun.objects.count() == 1  # showing a version submits nothing
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+$"))).to_be_visible()
    run = PipelineRun.objects.latest("id")
    assert run.endpoint_version == "0" and run.parameters == {"pipeline_arg": 10}
    context.close()
