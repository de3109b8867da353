"""Schedules in Chromium: create one from the endpoint page, see its next fire times, pause."""

import pytest
from playwright.sync_api import expect

from schedules.models import Schedule
from studio.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    """A browser in Berlin: a new schedule's time zone starts as the browser's."""
    return {**browser_context_args, "timezone_id": "Europe/Berlin"}


def test_create_a_schedule_from_the_endpoint_page_and_pause_it(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    endpoint = studio_data.endpoint("Churn scoring")
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/endpoints/{endpoint.pk}/")
    page.get_by_role("link", name="Schedules", exact=True).last.click()
    expect(page.get_by_text("No schedules")).to_be_visible()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name", exact=True).fill("Nightly churn")
    page.get_by_label("Experiment name").fill("Churn_nightly")
    # Only the chosen kind's fields show.
    expect(page.get_by_role("textbox", name="Cron expression")).to_be_hidden()
    page.get_by_role("radio", name="Cron expression").check()
    expect(page.get_by_role("textbox", name="Cron expression")).to_be_visible()
    expect(page.get_by_label("Every")).to_be_hidden()
    page.get_by_role("radio", name="Recurrence").check()
    page.get_by_label("Every").select_option("Day")
    page.get_by_label("Hours").fill("2")
    page.get_by_label("Minutes").fill("30")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    page.get_by_role("group", name="Week days").get_by_label("Monday").check()
    page.get_by_role("group", name="Week days").get_by_label("Monday").uncheck()
    page.get_by_label("pipeline_arg").fill("25")
    screenshot("form")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Schedule “Nightly churn” created.")).to_be_visible()
    row = page.locator("tr", has_text="Nightly churn")
    expect(row.locator("time")).to_have_count(5)
    expect(row).to_contain_text("every 1 Day at 02:30 (Europe/Berlin)")
    schedule = Schedule.objects.get(name="Nightly churn")
    first = schedule.next_fire_times(1)[0]
    first_time = row.locator("time").first
    expect(first_time).to_have_attribute("datetime", first.isoformat(timespec="seconds"))
    # Shown in the browser's zone (Berlin), at the schedule's own wall time.
    expect(first_time).to_contain_text("02:30")
    expect(first_time).not_to_contain_text("UTC")
    screenshot("created")

    page.goto(f"{live_server.url}/endpoints/{endpoint.pk}/schedules/")
    row = page.locator("tr", has_text="Nightly churn")
    row.get_by_role("button", name="Pause").click()
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    expect(row).to_contain_text("Paused")
    expect(row.locator("time")).to_have_count(0)
    schedule.refresh_from_db()
    assert schedule.is_paused and schedule.parameters == {"pipeline_arg": 25}
    assert AuditEvent.objects.filter(action="schedule.paused", object_id=str(schedule.pk)).exists()
    screenshot("paused")
    assert console_errors == []


def test_bulk_disable_three_published_pipelines_with_a_reason(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    for name in ("Churn trainer", "Forecast", "Scoring", "Keep me"):
        studio_data.published(name)
    sign_in(team.admin)
    page.goto(f"{live_server.url}/published/")
    for name in ("Churn trainer", "Forecast", "Scoring"):
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Disable selected").click()
    heading = page.get_by_role("heading", name="Disable 3 published pipelines?")
    expect(heading).to_be_visible()
    names = page.locator(".bulk-names li")
    expect(names).to_have_count(3)
    for name in ("Churn trainer", "Forecast", "Scoring"):
        expect(page.locator(".bulk-names")).to_contain_text(name)
    page.get_by_label("Reason").fill("retired after the Q3 review")
    screenshot("confirm")
    page.get_by_role("button", name="Disable all 3").click()
    expect(page.get_by_text("Disabled 3 published pipelines")).to_be_visible()
    # Disabled ones leave the default list; the fourth stays.
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr")).to_contain_text("Keep me")

    page.goto(f"{live_server.url}/workspaces/audit/")
    rows = page.locator("tbody tr", has_text="published_pipeline.disabled")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index)).to_contain_text("retired after the Q3 review")
    screenshot("audit")
    assert AuditEvent.objects.filter(action="published_pipeline.disabled").count() == 3
    assert console_errors == []
