"""Journeys through big runs: a fan-out group drawn as one box that lists its copies, and a
run of 10,000 steps drawn by level with its steps a page at a time, both following the run
live."""

import re

import pytest
from playwright.sync_api import expect

from pipelines.models import PipelineRun, StepRun
from tests.pipelines.test_large_run_pages import fan_out_graph, make_run, wide_graph

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_fan_out_group_lists_its_copies_and_follows_the_run(
    page, live_server, sign_in, team, screenshot, console_errors
):
    # prepare, 40 copies of score (3 failed, 2 running, the rest finished), report waiting.
    def status(i):
        if i == 0 or 1 <= i <= 40 and i not in (5, 17, 30, 38, 39):
            return "Finished"
        return {5: "Failed", 17: "Failed", 30: "Failed", 38: "Running", 39: "Running"}.get(
            i, "NotStarted"
        )

    run = make_run(team, fan_out_graph(40), statuses=status)
    sign_in(team.reader)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    group = page.locator("svg.dag .node.group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("score ×40")
    expect(group).to_contain_text("35/40 finished · 3 failed")
    expect(page.locator("svg.dag .node.group .seg")).to_have_count(3)
    expect(page.locator("#run-step-counts")).to_contain_text("42 steps")
    screenshot("fan-out")

    page.get_by_role("link", name=re.compile(r"^Group score — 40 steps")).click()
    expect(page).to_have_url(re.compile(r"group=score"))
    expect(page.locator("#steps-group")).to_have_value("score")
    rows = page.locator("#steps-table tbody tr")
    expect(rows).to_have_count(40)
    expect(rows.first).to_contain_text("score[0]")
    page.locator("#steps-status").select_option("Failed")  # sends the form at once
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("score[16]")
    expect(page.locator("#steps-group")).to_have_value("score")
    screenshot("fan-out-failed")

    # The run goes on: the page follows it, keeping the filters; not while the reader is in
    # a picker of the filter (swapping it would close the picker), but once they leave it.
    page.locator("#steps-status").focus()
    StepRun.objects.filter(run=run, status__in=["Running", "NotStarted"]).update(status="Finished")
    PipelineRun.objects.filter(pk=run.pk).update(status="Failed")
    page.wait_for_timeout(5_000)  # two polls' time
    expect(page.locator("#run-status")).to_have_text("Running")
    page.locator("#steps h2").click()  # leaves the picker
    expect(page.locator("#run-status")).to_have_text("Failed", timeout=30_000)
    expect(group).to_contain_text("37/40 finished · 3 failed")
    expect(page.locator("#steps-status")).to_have_value("Failed")
    expect(rows).to_have_count(3)
    assert console_errors == []


def test_a_run_of_ten_thousand_steps_is_drawn_by_level_and_paged(
    page, live_server, sign_in, team, screenshot, console_errors
):
    run = make_run(
        team,
        wide_graph(10_000),
        statuses=lambda i: "Failed" if i % 1000 == 999 else "Finished" if i < 7000 else "Queued",
    )
    sign_in(team.reader)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    graph = page.locator("svg.dag")
    expect(graph).to_have_attribute("aria-label", "Step graph of 10,000 steps, drawn by level")
    expect(graph.locator(".node")).to_have_count(1)
    expect(graph.locator(".node")).to_contain_text("10,000 steps")
    expect(page.locator("#run-step-counts")).to_contain_text("6,993 finished")
    expect(page.locator("#steps-table tbody tr")).to_have_count(50)
    expect(page.get_by_text("Page 1 of 200 · 10,000 in all")).to_be_visible()
    screenshot("ten-thousand")
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 200 · 10,000 in all")).to_be_visible()
    expect(page.locator("#steps-table tbody tr").first).to_contain_text("s00050")
    page.locator("#steps-status").select_option("Failed")
    expect(page.locator("#steps-table tbody tr")).to_have_count(10)
    expect(page.locator("#steps-table tbody tr").first).to_contain_text("s00999")
    # The failed step shown by default is the first failed one.
    expect(page.locator("#step-title")).to_have_text("Step s00999")
    screenshot("ten-thousand-failed")
    # The run ends: the page stops asking (no request is left running when the test ends).
    PipelineRun.objects.filter(pk=run.pk).update(status="Failed")
    expect(page.locator("#run-status")).to_have_text("Failed", timeout=30_000)
    assert console_errors == []
