"""The run page of runs with thousands of steps and fan-out groups: the graph collapses, the
steps list pages and filters, and neither the queries nor the HTML grow with the steps."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipelines.graph_svg import (
    DRAWN_COLUMNS,
    DRAWN_NODES,
    NodeState,
    layout_graph,
    render_graph_svg,
    render_layout_svg,
)
from pipelines.models import Experiment, Metric, PipelineRun, StepRun
from pipelines.run_page import STEPS_PER_PAGE
from tests.fixtures.pages import step

pytestmark = pytest.mark.django_db

LIVE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "run-live"}


def grouped(name: str, group: str, inputs=(), outputs=()) -> dict:
    return {**step(name, inputs=inputs, outputs=outputs), "group": group}


def fan_out_graph(copies: int, group: str = "score") -> dict:
    """prepare → ``copies`` copies of score reading its output → report after all of them."""
    steps = [step("prepare", outputs=["model"])]
    steps += [grouped(f"{group}[{i}]", group, inputs=["model"]) for i in range(copies)]
    report = step("report", run_after=[f"{group}[{i}]" for i in range(copies)])
    return {"parameters": [], "steps": [*steps, report]}


def wide_graph(steps: int) -> dict:
    return {"parameters": [], "steps": [step(f"s{i:05}") for i in range(steps)]}


def make_run(team, graph: dict, statuses=None, status="Running") -> PipelineRun:
    """A run of ``graph`` with its step rows written at once; ``statuses(i)`` gives each
    step's status (default: the first half Finished, then Running, the rest NotStarted)."""
    experiment, _ = Experiment.objects.get_or_create(workspace=team.workspace, name="Big")
    now = timezone.now()
    run = PipelineRun.objects.create(
        workspace=team.workspace,
        experiment=experiment,
        graph=graph,
        parameters={},
        status=status,
        submitted_by=team.contributor,
        started_at=now,
    )
    total = len(graph["steps"])

    def default(i):
        return "Finished" if i < total // 2 else "Running" if i == total // 2 else "NotStarted"

    statuses = statuses or default
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            name=spec["name"],
            position=i,
            status=statuses(i),
            started_at=now - timedelta(seconds=5) if statuses(i) != "NotStarted" else None,
            finished_at=now if statuses(i) in ("Finished", "Failed") else None,
        )
        for i, spec in enumerate(graph["steps"])
    )
    return run


def queries_of(client, url, **headers) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_page_and_live_refresh_run_the_same_queries_for_20_and_2000_steps(client, team):
    client.force_login(team.reader)
    small = make_run(team, wide_graph(20))
    big = make_run(team, wide_graph(2000))
    for run in (small, big):  # the first view of a run computes its layout: one query more
        client.get(reverse("pipelines:run_detail", args=[run.pk]))
    page = [queries_of(client, reverse("pipelines:run_detail", args=[r.pk])) for r in (small, big)]
    live = [
        queries_of(client, reverse("pipelines:run_detail", args=[r.pk]), **LIVE)
        for r in (small, big)
    ]
    assert page[0][0] == page[1][0]
    assert live[0][0] == live[1][0]
    # Nor does the HTML: one page of rows and a graph of a few nodes.
    big_live = live[1][1]
    assert big_live.count("<tr") == STEPS_PER_PAGE + 1  # the rows and the header
    assert big_live.count('class="node') < 5
    assert len(big_live) < 3 * len(live[0][1])


def test_a_wide_run_is_drawn_by_level_with_its_status_counts(client, team):
    run = make_run(team, wide_graph(DRAWN_NODES + 1))
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    assert "Step graph of 201 steps, drawn by level" in html
    assert html.count('class="node levels') == 1
    assert ">Level 1 ×201<" in html
    # 100 finished, one running, 100 not started: the node is running and its tooltip counts.
    assert 'class="node levels status-running"' in html
    assert "Level 1 — 201 steps: 100 finished · 1 running · 100 not started" in html
    counts = html[html.index('id="run-step-counts"') :]
    assert "201 steps" in counts[:200] and "100 finished" in counts[:600]
    assert "Page 1 of 5 · 201 in all" in html


def test_a_fan_out_group_is_one_node_that_lists_its_steps(client, team):
    statuses = ["Finished", "Finished", "Failed", "Running", "NotStarted"]
    run = make_run(team, fan_out_graph(3), statuses=lambda i: statuses[i])
    client.force_login(team.reader)
    url = reverse("pipelines:run_detail", args=[run.pk])
    html = client.get(url).content.decode()
    assert html.count('class="node group') == 1
    assert ">score ×3<" in html and ">1/3 finished · 1 failed<" in html
    assert "Group score — 3 steps: 1 finished · 1 failed · 1 running" in html
    assert 'class="node group status-failed"' in html  # a failure shows first
    assert html.count('class="seg status-') == 3
    # The steps of the group carry its tag, and the node links to them.
    assert 'href="?group=score#steps"' in html
    assert html.count('class="group-tag"') == 3
    # The failed copy is the step shown by default.
    failed = run.steps.get(name="score[1]")
    assert f'<input type="hidden" name="step" value="{failed.pk}">' in html
    listed = client.get(url, {"group": "score"}).content.decode()
    rows = re.findall(r'#step-panel">([^<]+)</a>', listed)
    assert rows == ["score[0]", "score[1]", "score[2]"]
    assert 'class="node group status-failed selected"' in listed
    only_failed = client.get(url, {"group": "score", "status": "Failed"}).content.decode()
    assert re.findall(r'#step-panel">([^<]+)</a>', only_failed) == ["score[1]"]


def test_the_steps_list_pages_and_filters_by_status(client, team):
    run = make_run(
        team, wide_graph(120), statuses=lambda i: "Failed" if i % 40 == 7 else "Finished"
    )
    client.force_login(team.reader)
    url = reverse("pipelines:run_detail", args=[run.pk])
    first = re.findall(r'#step-panel">([^<]+)</a>', client.get(url).content.decode())
    second_html = client.get(url, {"page": 2}).content.decode()
    second = re.findall(r'#step-panel">([^<]+)</a>', second_html)
    assert first == [f"s{i:05}" for i in range(50)]
    assert second == [f"s{i:05}" for i in range(50, 100)]
    assert "Page 2 of 3 · 120 in all" in second_html
    failed_html = client.get(url, {"status": "Failed"}).content.decode()
    assert re.findall(r'#step-panel">([^<]+)</a>', failed_html) == ["s00007", "s00047", "s00087"]
    assert '<option value="Failed" selected>Failed (3)</option>' in failed_html
    assert '<option value="Finished">Finished (117)</option>' in failed_html
    # Out of range or not a number: the nearest page, never an error.
    for page in ("99", "0", "x", "-3", "9" * 30):
        assert client.get(url, {"page": page}).status_code == 200
    # A status no step is in lists nothing; one that does not exist is ignored.
    none = client.get(url, {"status": "Canceled"}).content.decode()
    assert "No steps match these filters." in none
    bogus = client.get(url, {"status": "<b>Bogus</b>"}).content.decode()
    assert "&lt;b&gt;" not in bogus and "<b>Bogus" not in bogus
    assert len(re.findall(r'#step-panel">', bogus)) == 50


def test_the_live_refresh_keeps_the_filters_and_the_chosen_step(client, team):
    run = make_run(team, fan_out_graph(80))
    client.force_login(team.reader)
    url = reverse("pipelines:run_detail", args=[run.pk])
    chosen = run.steps.get(name="score[70]")
    html = client.get(url, {"group": "score", "page": 2, "step": chosen.pk}).content.decode()
    poll = re.search(r'id="run-live" hx-get="([^"]+)"', html).group(1)
    assert poll.startswith(url + "?")
    assert "group=score" in poll and "page=2" in poll and f"step={chosen.pk}" in poll
    live = client.get(poll.replace("&amp;", "&"), **LIVE).content.decode()
    assert "<html" not in live
    rows = re.findall(r'#step-panel">([^<]+)</a>', live)
    assert rows == [f"score[{i}]" for i in range(50, 80)]
    selected = r'<tr class="selected" aria-current="true">\s*<td><a href="[^"]+">score\[70\]'
    assert re.search(selected, live)


def test_hostile_group_names_in_the_query_and_the_graph_are_text(client, team):
    run = make_run(team, fan_out_graph(2, group="sc0re"))
    client.force_login(team.reader)
    url = reverse("pipelines:run_detail", args=[run.pk])
    html = client.get(url, {"group": '"><script>alert(1)</script>' + "x" * 500}).content.decode()
    assert "<script>alert(1)" not in html
    assert "No step of this run is in a group named" in html
    assert "No steps match these filters." in html
    # A stored graph is validated, but the drawing escapes whatever it is given.
    svg = render_graph_svg(
        {"parameters": [], "steps": [grouped("a", "<img src=x onerror=alert(1)>")]}
    )
    assert "<img" not in svg and "&lt;img src=x" in svg


def test_many_levels_share_nodes(client, team):
    chain = [step(f"c{i}", run_after=[f"c{i - 1}"] if i else []) for i in range(DRAWN_NODES + 40)]
    layout = layout_graph({"parameters": [], "steps": chain})
    assert layout.by_level and len(layout.nodes) == DRAWN_COLUMNS
    assert layout.nodes[0].label == "Levels 1–8" and layout.nodes[-1].label == "Levels 233–240"
    assert layout.edges == [(i, i + 1) for i in range(DRAWN_COLUMNS - 1)]
    assert sum(node.size for node in layout.nodes) == DRAWN_NODES + 40


def test_a_few_failures_among_thousands_still_show_on_the_bar():
    layout = layout_graph(fan_out_graph(10_000))
    svg = render_layout_svg(layout, {1: NodeState(counts={"Finished": 9_997, "Failed": 3})})
    bar = re.findall(r'class="seg status-(\w+)" x="\d+" y="\d+" width="(\d+)"', svg)
    assert bar == [("finished", "186"), ("failed", "2")]  # 188 pixels in all
    assert ">9,997/10,000 finished · 3 failed<" not in svg  # too long: the short form
    assert ">9,997 finished · 3 failed<" in svg and ">score ×10,000<" in svg


def test_a_groups_column_is_where_its_first_copy_can_start():
    layout = layout_graph(fan_out_graph(4))
    assert [(n.kind, n.label, n.size, n.column) for n in layout.nodes] == [
        ("step", "prepare", 1, 0),
        ("group", "score", 4, 1),
        ("step", "report", 1, 2),
    ]
    assert layout.edges == [(0, 1), (1, 2)]
    assert layout.groups == {"score": 4}
    assert layout.group_of["score[3]"] == "score"


def test_a_run_of_many_reused_metrics_shows_the_first_ones(client, team, settings):
    source = make_run(team, wide_graph(3), statuses=lambda i: "Finished", status="Finished")
    run = make_run(team, wide_graph(3), statuses=lambda i: "Finished", status="Finished")
    pairs = zip(run.steps.order_by("position"), source.steps.order_by("position"), strict=True)
    for mine, theirs in pairs:
        StepRun.objects.filter(pk=mine.pk).update(reused_from=theirs)
        Metric.objects.bulk_create(
            Metric(run=source, step_run=theirs, name=f"m{theirs.position}-{i}", value=i)
            for i in range(80)
        )
    Metric.objects.create(run=run, name="own", value=1)
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    table = html[html.index('id="run-metrics"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 200 + 1
    assert "<td>m0-0</td>" in table and "<td>m2-39</td>" in table and "<td>m2-40</td>" not in table
    assert "<td>own</td>" not in table  # logged after the carried ones
    assert "The first 200 metrics" in html


def test_a_step_of_another_run_is_never_shown(client, team, studio_data):
    theirs = studio_data.run(workspace=team.other_workspace, status="Failed")
    secret = theirs.steps.get(name="train")
    StepRun.objects.filter(pk=secret.pk).update(log="their secret log")
    mine = make_run(team, wide_graph(3))
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[mine.pk]), {"step": secret.pk})
    html = html.content.decode()
    assert "their secret log" not in html and "Step train" not in html
    assert 'id="step-title">Step s00001<' in html  # its own running step instead
