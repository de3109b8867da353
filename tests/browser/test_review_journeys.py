"""Reviewing run history in Chromium: compare runs, live lists, local times, pickers, rerun from
the failed step, the styled 403, a phone-sized screen and the dark theme."""

import re

import pytest
import requests
from playwright.sync_api import expect

from pipelines.engine import submit_published_run
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PipelineRun, PublishedPipeline
from studio.models import Role
from tests.fixtures.people import PASSWORD
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tuned(studio_data):
    """Three finished runs of one endpoint with different rates, and a run of another."""
    scoring = studio_data.endpoint("Scoring")
    forecast = studio_data.endpoint("Forecast")
    runs = []
    for rate, accuracy in ((0.1, 0.81), (0.01, 0.93), (0.1, 0.85)):
        run = studio_data.run(
            endpoint=scoring, parameters={"rate": rate, "epochs": 5}, experiment="tune"
        )
        studio_data.metric(run, "accuracy", accuracy, step_name="evaluate")
        studio_data.metric(run, "f1", 0.5, step_name="evaluate")
        runs.append(run)
    studio_data.run(endpoint=forecast, experiment="daily")
    return runs


def sign_in_on(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def no_horizontal_scroll(page):
    width = page.evaluate("document.scrollingElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"{page.url}: {width} px wide in a {inner} px window"


def test_compare_three_runs_and_see_what_differs(
    page, live_server, sign_in, team, tuned, screenshot, console_errors
):
    sign_in(team.reader)
    page.get_by_role("link", name="Runs").click()
    for run in tuned:
        page.get_by_label(f"Select run {run.pk}").check()
    screenshot("ticked")
    page.get_by_role("button", name="Compare selected").click()
    ids = ",".join(str(run.pk) for run in reversed(tuned))  # as the table lists them
    expect(page).to_have_url(re.compile(rf"/runs/compare/\?runs={ids}$"))
    table = page.locator("#compare-table")
    expect(table.locator("tr.differs")).to_have_count(2)  # rate and accuracy
    expect(table.get_by_role("row", name=re.compile("^rate differs"))).to_be_visible()
    expect(table.get_by_role("row", name=re.compile("^epochs"))).not_to_have_class("differs")
    expect(page.get_by_role("img", name="accuracy across runs")).to_be_visible()
    screenshot("compare")
    page.reload()  # the comparison is a link to share
    expect(page.locator("#compare-table tr.differs")).to_have_count(2)
    assert console_errors == []


def test_a_run_submitted_over_rest_appears_in_the_open_runs_list(
    page, live_server, sign_in, team, studio_data, screenshot, console_errors
):
    scoring = studio_data.endpoint("Scoring")
    studio_data.run(endpoint=scoring, status="Finished")
    sign_in(team.reader)
    page.get_by_role("link", name="Runs").click()
    page.get_by_label("Status").select_option("Queued")  # a filter the refresh must keep
    expect(page.locator("table.runs")).to_have_count(0)
    token = team.token(Role.CONTRIBUTOR)
    answer = requests.post(
        f"{live_server.url}/api/v1/pipeline-endpoints/{scoring.pk}/runs",
        json={"ExperimentName": "from-rest"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    new_id = answer.json()["Id"]
    # No reload: the idle list asks every 10 s whether a run was added.
    row = page.locator("table.runs tbody tr", has_text=f"Run {new_id}")
    expect(row).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Status")).to_have_value("Queued")
    expect(page.locator("#live-poll")).to_be_visible()  # it is queued: the list now follows it
    screenshot("appeared")
    assert console_errors == []


def test_times_show_in_the_browsers_zone(browser, live_server, team, tuned):
    context = browser.new_context(
        timezone_id="America/Los_Angeles", viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    try:
        sign_in_on(page, live_server, team.reader)
        page.goto(f"{live_server.url}/runs/{tuned[0].pk}/")
        submitted = page.locator("dt:has-text('Submitted') + dd time")
        expect(submitted).to_have_text(re.compile(r"P[SD]T$"))
        assert submitted.get_attribute("datetime").endswith("+00:00")
        page.screenshot(path=str(_shot("times-los-angeles")), full_page=True)
        page.goto(f"{live_server.url}/runs/")
        relative = page.locator("table.runs time").first
        expect(relative).to_have_attribute("title", re.compile(r"P[SD]T$"))
    finally:
        context.close()


def test_filter_runs_by_picking_an_endpoint(
    page, live_server, sign_in, team, tuned, screenshot, console_errors
):
    sign_in(team.reader)
    page.get_by_role("link", name="Runs").click()
    expect(page.locator("#results table.runs tbody tr")).to_have_count(4)
    page.get_by_label("Endpoint", exact=True).select_option(label="Scoring")
    expect(page.locator("#results table.runs tbody tr")).to_have_count(3)
    endpoint_id = tuned[0].pipeline_endpoint_id
    expect(page).to_have_url(re.compile(rf"endpoint={endpoint_id}"))
    page.get_by_text("Columns").click()
    page.get_by_label("accuracy").check()
    expect(page.locator("table.runs thead")).to_contain_text("accuracy")
    page.get_by_role("link", name=re.compile("metric accuracy")).click()
    expect(page).to_have_url(re.compile(r"sort=-metric%3Aaccuracy"))
    first = page.locator("table.runs tbody tr").first
    expect(first).to_contain_text(f"Run {tuned[1].pk}")  # 0.93, the best
    screenshot("filtered")
    page.reload()
    expect(page.get_by_label("Endpoint", exact=True)).to_have_value(str(endpoint_id))
    expect(page.locator("#results table.runs tbody tr")).to_have_count(3)
    assert console_errors == []


def test_the_experiment_chart_and_runs_table_keep_each_others_choices(
    page, live_server, sign_in, team, tuned, screenshot, console_errors
):
    """The chart's metric and the table's columns and sort live in one URL: changing either
    keeps the other, with JavaScript (htmx swaps) and after a reload."""
    sign_in(team.reader)
    page.get_by_role("link", name="Experiments").click()
    page.get_by_role("link", name="tune").click()
    chart = page.get_by_label("Metric", exact=True)
    expect(chart).to_have_value("accuracy")
    page.get_by_text("Columns").click()
    page.get_by_label("rate").check()
    expect(page.locator("table.runs thead")).to_contain_text("rate")
    page.get_by_label("f1").check()
    expect(page.locator("table.runs thead")).to_contain_text("f1")
    page.get_by_role("link", name=re.compile("param rate")).click()  # sort by rate
    expect(page).to_have_url(re.compile(r"sort=param%3Arate"))
    chart.select_option("f1")
    expect(page.get_by_role("img", name="f1 across runs")).to_be_visible()
    for kept in (r"params=rate", r"metrics=f1", r"sort=param%3Arate", r"metric=f1"):
        expect(page).to_have_url(re.compile(kept))
    expect(page.locator("table.runs thead")).to_contain_text("rate")
    expect(page.locator("table.runs thead th[aria-sort=ascending]")).to_contain_text("rate")
    page.get_by_label("rate").uncheck()  # the table changes: the chart's metric stays
    expect(page.locator("table.runs thead")).not_to_contain_text("rate")
    expect(page).to_have_url(re.compile(r"metric=f1"))
    expect(page).not_to_have_url(re.compile(r"params=rate"))
    page.get_by_role("link", name=re.compile("metric f1")).click()
    expect(page).to_have_url(re.compile(r"sort=-metric%3Af1"))
    expect(page).to_have_url(re.compile(r"metric=f1"))
    assert page.url.count("metric=f1") == 1  # one value, not a stale copy beside it
    screenshot("chart-f1-with-columns")
    page.reload()
    expect(page.get_by_label("Metric", exact=True)).to_have_value("f1")
    expect(page.get_by_role("img", name="f1 across runs")).to_be_visible()
    expect(page.locator("table.runs thead")).to_contain_text("f1")
    assert console_errors == []


def test_the_experiment_chart_picker_keeps_the_columns_without_javascript(
    browser, live_server, team, tuned
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in_on(page, live_server, team.reader)
        experiment = tuned[0].experiment_id
        page.goto(f"{live_server.url}/experiments/{experiment}/?metrics=f1&sort=-metric:f1")
        page.get_by_label("Metric", exact=True).select_option("f1")
        page.get_by_role("button", name="Show", exact=True).click()
        expect(page).to_have_url(re.compile(r"metric=f1"))
        for kept in (r"metrics=f1", r"sort=-metric%3Af1"):
            expect(page).to_have_url(re.compile(kept))
        expect(page.get_by_role("img", name="f1 across runs")).to_be_visible()
        expect(page.locator("table.runs thead")).to_contain_text("f1")
        page.screenshot(path=str(_shot("chart-without-javascript")), full_page=True)
    finally:
        context.close()


def test_a_reader_sees_the_styled_403(page, live_server, sign_in, team, screenshot):
    sign_in(team.reader)
    response = page.goto(f"{live_server.url}/workspaces/members/")
    assert response.status == 403
    expect(
        page.get_by_role("heading", name="You do not have permission to see this")
    ).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot("403")


def test_phone_width_has_no_horizontal_scroll(page, live_server, sign_in, team, tuned, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(team.reader)
    ids = ",".join(str(run.pk) for run in tuned)
    for path, name in (
        ("/runs/?params=rate&metrics=accuracy", "runs"),
        (f"/runs/{tuned[0].pk}/", "run"),
        ("/endpoints/", "endpoints"),
        (f"/runs/compare/?runs={ids}", "compare"),
        (f"/endpoints/{tuned[0].pipeline_endpoint_id}/", "endpoint"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        no_horizontal_scroll(page)
        screenshot(f"390-{name}")


def test_dark_mode_follows_the_system(browser, live_server, team, tuned):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        sign_in_on(page, live_server, team.reader)
        page.goto(f"{live_server.url}/runs/compare/?runs={tuned[0].pk},{tuned[1].pk}")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 150, background
        color = page.evaluate("getComputedStyle(document.body).color")
        assert sum(int(v) for v in re.findall(r"\d+", color)[:3]) > 500, color
        page.screenshot(path=str(_shot("dark-compare")), full_page=True)
        page.goto(f"{live_server.url}/runs/{tuned[0].pk}/")
        page.screenshot(path=str(_shot("dark-run")), full_page=True)
    finally:
        context.close()


def _shot(name):
    from tests.fixtures.browser import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"review-{name}.png"


SCRIPTS = {
    "prepare.py": """
        import pathlib, sys
        (pathlib.Path(sys.argv[1]) / "rows.txt").write_text("1\\n2\\n3\\n")
        print("prepared 3 rows", flush=True)
    """,
    "train.py": """
        import pathlib, sys
        from pipelines.sdk import Run
        rate = float(sys.argv[2])
        if rate >= 1:
            raise SystemExit(f"learning rate {rate} is too high: the loss diverged")
        rows = (pathlib.Path(sys.argv[1]) / "rows.txt").read_text().split()
        print(f"trained on {len(rows)} rows at {rate}", flush=True)
        Run.get_context().log("loss", rate / 10)
    """,
}


@pytest.mark.worker
def test_rerun_a_failed_run_from_its_failed_step(
    page, live_server, sign_in, team, tmp_path, celery_worker, screenshot, console_errors
):
    snapshot = make_snapshot(team.workspace, tmp_path, SCRIPTS)
    graph = validate_graph(
        {
            "parameters": [{"name": "rate", "default_value": 0.1}],
            "steps": [
                step("prepare", snapshot, "prepare.py", [{"data": "rows"}], outputs=["rows"]),
                step(
                    "train",
                    snapshot,
                    "train.py",
                    [{"data": "rows"}, {"parameter": "rate"}],
                    inputs=["rows"],
                ),
            ],
        },
        team.workspace,
    )
    pipeline = Pipeline.objects.create(workspace=team.workspace, name="trainer", graph=graph)
    published = PublishedPipeline.publish_from(pipeline, name="trainer", version="1", by=team.admin)
    failed = submit_published_run(
        published, experiment_name="tune", parameter_assignments={"rate": 5.0}, by=team.contributor
    )
    wait_for_run(failed, timeout=90)
    assert failed.status == "Failed"
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/runs/{failed.pk}/")
    expect(page.locator("#run-status")).to_have_text("Failed")
    page.get_by_role("link", name="Rerun from failed step").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    rate = dialog.get_by_label("rate")
    expect(rate).to_have_value("5.0")
    rate.fill("")  # required: the server says so beside the field
    dialog.get_by_role("button", name="Rerun from failed step").click()
    expect(dialog.get_by_label("rate")).to_be_focused()  # focus moves to the first error
    expect(dialog.locator("#id_p_rate_error")).to_be_visible()
    screenshot("rerun-error")
    dialog.get_by_label("rate").fill("0.01")
    dialog.get_by_role("button", name="Rerun from failed step").click()
    expect(page).to_have_url(re.compile(rf"/runs/(?!{failed.pk}/)\d+/$"))
    again = PipelineRun.objects.exclude(pk=failed.pk).get()
    expect(page).to_have_url(re.compile(rf"/runs/{again.pk}/$"))
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=90_000)
    prepare_row = page.locator("table.steps tr", has_text="prepare")
    expect(prepare_row).to_contain_text("reused")
    expect(page.locator("table.steps tr", has_text="train")).not_to_contain_text("reused")
    expect(page.get_by_text(f"Run {failed.pk}", exact=True)).to_be_visible()  # resubmitted from
    screenshot("rerun-finished")
    assert again.resubmitted_from_id == failed.pk and again.parameters == {"rate": 0.01}
    # The one 400 is the refused form, swapped into the dialog on purpose.
    assert [e for e in console_errors if "status of 400" not in e] == []
