"""Runs tables: parameter and metric columns, sorting by them, a fixed number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def tuned(studio_data):
    endpoint = studio_data.endpoint("Scoring")
    runs = []
    for rate, accuracy in ((0.5, 0.7), (0.05, 0.95), (5, 0.8)):
        run = studio_data.run(endpoint=endpoint, parameters={"rate": rate}, experiment="tune")
        studio_data.metric(run, "accuracy", accuracy, step_name="evaluate")
        studio_data.metric(run, "loss", 1 - accuracy, step_name="evaluate")
        runs.append(run)
    return runs


def run_order(html):
    return [int(pk) for pk in re.findall(r'aria-label="Select run (\d+)"', html)]


def test_chosen_columns_show_each_runs_values(client, team, tuned):
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    html = client.get(url, {"params": "rate", "metrics": ["accuracy", "loss"]}).content.decode()
    assert '<span class="muted">param</span> rate' in html
    assert '<span class="muted">metric</span> accuracy' in html
    assert "<code>0.95</code>" in html and "<code>0.05</code>" in html
    # The pickers offer what the page's runs have.
    assert 'name="params" value="rate" data-table-option checked' in html
    assert 'name="metrics" value="loss" data-table-option checked' in html


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("metric:accuracy", [0, 2, 1]),
        ("-metric:accuracy", [1, 2, 0]),
        ("param:rate", [1, 0, 2]),  # 0.05 < 0.5 < 5: numbers, not text
        ("-param:rate", [2, 0, 1]),
        ("created", [0, 1, 2]),
        ("-created", [2, 1, 0]),
        ("bogus; drop table", [2, 1, 0]),  # unknown sorts keep newest first
    ],
)
def test_sorting_by_any_column(client, team, tuned, sort, expected):
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_list"), {"sort": sort}).content.decode()
    assert run_order(html) == [tuned[i].pk for i in expected]


def test_sorting_by_a_metric_counts_reused_steps(client, team, studio_data, tuned):
    reused = studio_data.run(endpoint=tuned[1].pipeline_endpoint, parameters={"rate": 0.05})
    step = reused.steps.get(name="evaluate")
    step.reused_from = tuned[1].steps.get(name="evaluate")
    step.save()
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    html = client.get(url, {"sort": "-metric:accuracy", "metrics": "accuracy"}).content.decode()
    assert run_order(html)[:2] == sorted([tuned[1].pk, reused.pk], reverse=True)


def test_header_links_flip_the_sort_and_keep_filters(client, team, tuned):
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    html = client.get(
        url, {"status": "Finished", "metrics": "accuracy", "sort": "-metric:accuracy"}
    )
    html = html.content.decode()
    assert 'aria-sort="descending"' in html
    assert "sort=metric%3Aaccuracy" in html and "status=Finished" in html


def test_endpoint_and_experiment_tables_have_columns_too(client, team, tuned):
    client.force_login(team.reader)
    endpoint = tuned[0].pipeline_endpoint
    for url in (
        reverse("endpoints:endpoint_runs", args=[endpoint.pk]),
        reverse("pipelines:experiment_detail", args=[tuned[0].experiment_id]),
    ):
        html = client.get(url, {"metrics": "accuracy", "sort": "metric:accuracy"}).content.decode()
        assert run_order(html) == [tuned[0].pk, tuned[2].pk, tuned[1].pk], url
        assert "<code>0.95</code>" in html


def test_queries_stay_the_same_with_three_metric_columns(client, team, studio_data, tuned):
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    query = {"params": "rate", "metrics": ["accuracy", "loss", "f1"], "sort": "-metric:loss"}

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, query).status_code == 200
        return len(queries)

    # A run without a loss: the page holds runs with a value and runs without (two queries).
    studio_data.run(endpoint=tuned[0].pipeline_endpoint, parameters={"rate": 9})
    few = count()
    for i in range(20):
        run = studio_data.run(
            endpoint=tuned[0].pipeline_endpoint, parameters={"rate": i}, experiment=f"x{i % 3}"
        )
        studio_data.metric(run, "accuracy", i / 20, step_name="evaluate")
        studio_data.metric(run, "f1", i / 30, step_name="train")
    assert count() == few


@pytest.mark.parametrize("descending", [True, False])
def test_metric_sort_pages_runs_with_a_value_then_the_others(client, team, studio_data, descending):
    """Runs with a number by that number (ties newest first), then runs without one (text,
    or no such metric) newest first, across pages; another workspace's runs never show."""
    endpoint = studio_data.endpoint("Scoring")
    valued, others = [], []
    for i in range(32):
        run = studio_data.run(endpoint=endpoint, parameters={"rate": i})
        if i % 3 == 0:
            others.append(run)  # no accuracy at all
        elif i % 3 == 1 and i < 12:
            studio_data.metric(run, "accuracy", "n/a", step_name="evaluate")  # no number
            others.append(run)
        else:
            studio_data.metric(run, "accuracy", 0.1, step_name="train")
            studio_data.metric(run, "accuracy", (i * 7) % 5 / 10, step_name="evaluate")  # last
            valued.append((run, (i * 7) % 5 / 10))
    stranger = studio_data.run(workspace=team.other_workspace)
    studio_data.metric(stranger, "accuracy", 5.0)
    newest = sorted(valued, key=lambda item: item[0].pk, reverse=True)
    by_value = sorted(newest, key=lambda item: item[1], reverse=descending)  # stable: ties newest
    expected = [run.pk for run, _ in by_value] + sorted((r.pk for r in others), reverse=True)
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    sort = f"{'-' if descending else ''}metric:accuracy"
    seen = []
    for page in (1, 2):
        html = client.get(url, {"sort": sort, "metrics": "accuracy", "page": page})
        seen += run_order(html.content.decode())
    assert seen == expected and len(seen) == 32
    # A page that starts past the last run with a value.
    html = client.get(url, {"sort": sort, "page": 2}).content.decode()
    assert run_order(html) == expected[25:]
    filtered = client.get(url, {"sort": sort, "status": "Failed"}).content.decode()
    assert run_order(filtered) == []


def test_names_and_values_in_pickers_and_cells_are_text(client, team, studio_data):
    endpoint = studio_data.endpoint("<img src=x onerror=alert(1)>")
    run = studio_data.run(endpoint=endpoint)
    studio_data.metric(run, "note", "<script>alert(1)</script>", step_name="evaluate")
    studio_data.metric(run, "curve", ["<b>", *range(100)], step_name="evaluate")
    other = studio_data.run(endpoint=endpoint)
    client.force_login(team.reader)
    html = client.get(
        reverse("pipelines:run_list"), {"metrics": ["note", "curve"], "endpoint": endpoint.pk}
    ).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html
    assert (
        f'<option value="{endpoint.pk}" selected>&lt;img src=x onerror=alert(1)&gt;</option>'
        in (html)
    )
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert '<details class="metric-value"><summary><code>101 values, last 99</code>' in html
    compared = client.get(reverse("pipelines:run_compare"), {"runs": f"{run.pk},{other.pk}"})
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in compared.content.decode()
