"""Journeys that really run pipelines: a real Celery worker executes the steps while Chromium
watches the run page update by itself."""

import re

import pytest
from playwright.sync_api import expect

from endpoints.models import PipelineEndpoint
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PipelineRun, PublishedPipeline
from tests.pipelines.builders import make_snapshot, step

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPTS = {
    "compare.py": """
        import sys
        from pipelines.sdk import Run
        value = int(sys.argv[sys.argv.index("--param1") + 1])
        print("<b>not bold</b> <script>window.pwned = 1</script>")
        print(f"param1 is {value}", flush=True)
        Run.get_context().log("doubled", value * 2)
    """,
    "fail.py": """
        print("loading the data", flush=True)
        raise SystemExit("boom: the input has no rows")
    """,
    "slow.py": """
        import time
        for i in range(600):
            print(f"tick {i}", flush=True)
            time.sleep(0.2)
    """,
}


def publish(team, snapshot, name, script, parameters=(), arguments=()):
    graph = validate_graph(
        {"parameters": list(parameters), "steps": [step(name, snapshot, script, arguments)]},
        team.workspace,
    )
    pipeline = Pipeline.objects.create(workspace=team.workspace, name=name, graph=graph)
    return PublishedPipeline.publish_from(pipeline, name=name, version="1", by=team.admin)


@pytest.fixture
def pipelines(team, tmp_path):
    snapshot = make_snapshot(team.workspace, tmp_path, SCRIPTS)
    compare = publish(
        team,
        snapshot,
        "compare",
        "compare.py",
        [{"name": "pipeline_arg", "default_value": 10}],
        ["--param1", {"parameter": "pipeline_arg"}],
    )
    endpoint = PipelineEndpoint.publish(
        team.workspace, name="Comparer", published=compare, by=team.admin
    )
    return {
        "endpoint": endpoint,
        "failing": publish(team, snapshot, "failing", "fail.py"),
        "slow": publish(team, snapshot, "slow", "slow.py"),
    }


def submit_from_page(page, experiment, **parameters):
    page.get_by_role("link", name="Submit").click()
    page.get_by_label("Experiment name").fill(experiment)
    for name, value in parameters.items():
        page.get_by_label(name).fill(str(value))
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+$"))).to_be_visible()
    return PipelineRun.objects.latest("id")


def test_submit_with_a_changed_parameter_and_watch_it_finish(
    celery_worker, page, live_server, sign_in, team, pipelines, screenshot, console_errors
):
    sign_in(team.contributor)
    page.get_by_role("link", name="Comparer").click()
    run = submit_from_page(page, "watch-it", pipeline_arg=21)
    assert run.parameters == {"pipeline_arg": 21}
    screenshot("submitted")
    status = page.locator("#run-status")
    expect(status).to_have_text("Finished", timeout=90_000)
    metrics = page.locator("#run-metrics")
    expect(metrics).to_contain_text("doubled")
    expect(metrics).to_contain_text("42")
    log = page.locator("#step-log")
    expect(log).to_contain_text("param1 is 21")
    expect(log).to_contain_text("<b>not bold</b> <script>window.pwned = 1</script>")
    expect(page.locator("#step-extras")).to_contain_text("doubled")
    assert page.evaluate("window.pwned") is None
    expect(page.locator("svg.dag .node.status-finished")).to_have_count(1)
    screenshot("finished")
    assert console_errors == []


def test_a_failing_run_shows_the_failing_steps_log(
    celery_worker, page, live_server, sign_in, team, pipelines, screenshot, console_errors
):
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/published/{pipelines['failing'].pk}/")
    submit_from_page(page, "will-fail")
    expect(page.locator("#run-status")).to_have_text("Failed", timeout=90_000)
    expect(page.locator("#step-log")).to_contain_text("boom: the input has no rows")
    expect(page.locator("#step-facts")).to_contain_text("Exit code")
    expect(page.locator("svg.dag .node.status-failed")).to_have_count(1)
    screenshot("failed")
    page.reload()
    expect(page.locator("#step-log")).to_contain_text("loading the data")
    assert console_errors == []


def test_cancel_a_long_run(
    celery_worker, page, live_server, sign_in, team, pipelines, screenshot, console_errors
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(team.contributor)
    page.goto(f"{live_server.url}/published/{pipelines['slow'].pk}/")
    run = submit_from_page(page, "long")
    expect(page.locator("#run-status")).to_have_text("Running", timeout=90_000)
    expect(page.locator("#step-log")).to_contain_text("tick 3", timeout=30_000)  # log follows
    screenshot("running")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#run-status")).to_have_text("Canceled", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    run.refresh_from_db()
    assert run.status == "Canceled"
    screenshot("canceled")
    assert console_errors == []
