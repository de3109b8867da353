"""Journeys through run history: the Runs page with its filters and charts, an experiment's
metric chart, and a run page at tablet width."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history(studio_data):
    scoring, forecast = studio_data.endpoint("Scoring"), studio_data.endpoint("Forecast")
    runs = []
    for i in range(12):
        status = "Failed" if i % 4 == 3 else "Finished"
        run = studio_data.run(
            endpoint=scoring if i % 3 else forecast,
            status=status,
            experiment="nightly",
            seconds=5 + i * 2,
        )
        studio_data.metric(run, "accuracy", 0.70 + i / 100, step_name="evaluate")
        runs.append(run)
    return runs


def test_filter_runs_and_see_recent_outcomes_per_endpoint(
    page, live_server, sign_in, team, history, screenshot, console_errors
):
    sign_in(team.reader)
    page.get_by_role("link", name="Runs").click()
    expect(page.locator("#results table.runs tbody tr")).to_have_count(12)
    expect(page.get_by_role("img", name="Recent runs of Scoring")).to_be_visible()
    expect(page.get_by_role("img", name="Recent runs of Forecast")).to_be_visible()
    screenshot("runs-1280")
    page.get_by_label("Status").select_option("Failed")
    expect(page.locator("#results table.runs tbody tr")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"status=Failed"))
    page.get_by_label("Endpoint", exact=True).select_option(label="Scoring")
    expect(page.locator("#results table.runs tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"endpoint=\d+"))
    screenshot("runs-filtered")
    page.reload()  # the state lives in the URL
    expect(page.locator("#results table.runs tbody tr")).to_have_count(2)
    expect(page.get_by_label("Status")).to_have_value("Failed")
    assert console_errors == []


def test_compare_runs_of_an_experiment_on_a_metric_chart(
    page, live_server, sign_in, team, history, screenshot, console_errors
):
    sign_in(team.reader)
    page.get_by_role("link", name="Experiments").click()
    row = page.get_by_role("row", name=re.compile("nightly"))
    expect(row).to_contain_text("12")
    row.get_by_role("link", name="nightly").click()
    chart = page.get_by_role("img", name="accuracy across runs")
    expect(chart).to_be_visible()
    expect(chart.locator("circle")).to_have_count(12)
    screenshot("experiment")
    assert console_errors == []


def test_run_page_is_readable_at_768_pixels(
    page, live_server, sign_in, team, history, screenshot, console_errors
):
    page.set_viewport_size({"width": 768, "height": 1000})
    sign_in(team.reader)
    page.goto(f"{live_server.url}/runs/{history[3].pk}/")
    expect(page.locator("#run-status")).to_have_text("Failed")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
    page.keyboard.press("Tab")  # the skip link comes first for keyboard users
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    screenshot("run-768")
    assert console_errors == []
