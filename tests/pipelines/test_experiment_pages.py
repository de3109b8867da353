"""Experiments with run counts, and an experiment page charting a metric across runs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_experiments_list_counts_runs(client, team, studio_data):
    for _ in range(3):
        studio_data.run(experiment="nightly")
    studio_data.run(experiment="adhoc")
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:experiment_list")).content.decode()
    nightly = html[html.index("nightly</a>") :]
    adhoc = html[html.index("adhoc</a>") :]
    assert nightly.split("<td>")[1].startswith("3<") and adhoc.split("<td>")[1].startswith("1<")


def test_experiments_list_runs_the_same_queries_for_1_and_50(client, team, studio_data):
    client.force_login(team.reader)
    url = reverse("pipelines:experiment_list")
    studio_data.run(experiment="X0")
    one = count_queries(client, url)
    for i in range(1, 50):
        studio_data.run(experiment=f"X{i}")
    assert count_queries(client, url) == one


def test_experiment_runs_page_runs_the_same_queries_for_1_and_50(client, team, studio_data):
    client.force_login(team.reader)
    first = studio_data.run(experiment="nightly")
    studio_data.metric(first, "accuracy", 0.5)
    url = reverse("pipelines:experiment_detail", args=[first.experiment_id])
    one = count_queries(client, url)
    for i in range(49):
        studio_data.metric(studio_data.run(experiment="nightly"), "accuracy", i / 100)
    assert count_queries(client, url) == one


def test_experiment_page_charts_the_chosen_metric(client, team, studio_data):
    runs = [studio_data.run(experiment="nightly") for _ in range(3)]
    for run, value in zip(runs, (0.7, 0.8, 0.9), strict=True):
        studio_data.metric(run, "accuracy", value)
        studio_data.metric(run, "loss", 1 - value)
    studio_data.metric(runs[0], "notes", "text is not charted")
    client.force_login(team.reader)
    url = reverse("pipelines:experiment_detail", args=[runs[0].experiment_id])
    html = client.get(url).content.decode()
    assert '<option value="accuracy" selected>' in html and '<option value="loss"' in html
    assert html.count('<circle class="point') == 3
    assert f"<title>Run {runs[2].pk}: accuracy = 0.9</title>" in html
    html = client.get(url, {"metric": "loss"}).content.decode()
    assert f"<title>Run {runs[2].pk}: loss = 0.1</title>" in html
    assert 'aria-label="loss across runs"' in html
    # Axes: the metric names the y axis, runs label the x axis, ticks carry round numbers.
    assert ">loss</text>" in html and ">Run</text>" in html
    for run in runs:
        assert f'text-anchor="middle">{run.pk}</text>' in html
    assert 'class="grid"' in html


def test_experiment_of_another_workspace_is_404(client, team, studio_data):
    theirs = studio_data.run(workspace=team.other_workspace, experiment="theirs")
    client.force_login(team.admin)
    url = reverse("pipelines:experiment_detail", args=[theirs.experiment_id])
    assert client.get(url).status_code == 404


def test_the_chart_picker_and_the_runs_table_share_one_form(client, team, studio_data):
    """The chart's metric is a control of the table's form, so the table's changes send it
    and the chart's send the columns: one metric value, never a stale hidden copy."""
    run = studio_data.run(experiment="nightly", parameters={"rate": 1})
    studio_data.metric(run, "accuracy", 0.9)
    studio_data.metric(run, "f1", 0.5)
    client.force_login(team.reader)
    url = reverse("pipelines:experiment_detail", args=[run.experiment_id])
    html = client.get(
        url, {"metric": "f1", "metrics": "accuracy", "params": "rate", "sort": "-metric:f1"}
    ).content.decode()
    picker = html[html.index('<select id="metric-choice"') :]
    picker = picker[: picker.index(">")]
    assert 'form="table-options"' in picker and 'hx-include="#table-options"' in picker
    assert 'type="hidden" name="metric"' not in html
    assert '<input type="hidden" name="sort" value="-metric:f1" data-table-option>' in html
    assert '<option value="f1" selected>' in html
