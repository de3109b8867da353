"""Runs, an endpoint's Runs tab and the endpoint list follow runs while they move."""

import pytest
from django.urls import reverse

from pipelines.models import PipelineRun

pytestmark = pytest.mark.django_db


def poll(client, url, trigger, since=None, **query):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results", "HTTP_HX_TRIGGER": trigger}
    if since is not None:
        headers["HTTP_X_STUDIO_SINCE"] = str(since)
    return client.get(url, query, **headers)


@pytest.fixture
def scoring(studio_data):
    return studio_data.endpoint("Scoring")


@pytest.fixture
def urls(scoring):
    return [
        reverse("pipelines:run_list"),
        reverse("endpoints:endpoint_runs", args=[scoring.pk]),
        reverse("endpoints:endpoint_list"),
    ]


def test_lists_poll_while_a_run_is_active_then_stop_with_286(
    client, team, studio_data, scoring, urls
):
    running = studio_data.run(endpoint=scoring, status="Running")
    client.force_login(team.reader)
    for url in urls:
        html = client.get(url).content.decode()
        assert 'id="live-poll"' in html and 'hx-trigger="every 3s"' in html, url
        answer = poll(client, url, "live-poll")
        assert answer.status_code == 200 and 'id="live-poll"' in answer.content.decode()
    PipelineRun.objects.filter(pk=running.pk).update(status="Finished")
    for url in urls:
        answer = poll(client, url, "live-poll")
        # The last answer stops the poll and swaps in the list with the run finished.
        assert answer.status_code == 286, url
        html = answer.content.decode()
        assert "Finished" in html and 'id="live-poll"' not in html
        assert 'id="idle-watch"' in html and f'"X-Studio-Since": "{running.pk}"' in html


def test_an_idle_list_answers_204_until_a_run_is_added(client, team, studio_data, scoring, urls):
    done = studio_data.run(endpoint=scoring, status="Finished")
    client.force_login(team.reader)
    for url in urls:
        assert poll(client, url, "idle-watch", since=done.pk).status_code == 204, url
    added = studio_data.run(endpoint=scoring, status="Queued")
    for url in urls:
        answer = poll(client, url, "idle-watch", since=done.pk)
        assert answer.status_code == 200, url
        html = answer.content.decode()
        assert 'id="live-poll"' in html
    assert f"Run {added.pk}<" in poll(client, urls[0], "idle-watch", since=done.pk).content.decode()


def test_polls_keep_the_filters_of_the_page(client, team, studio_data, scoring):
    studio_data.run(endpoint=scoring, status="Running")
    client.force_login(team.reader)
    url = reverse("pipelines:run_list")
    html = client.get(url, {"status": "Running", "metrics": "accuracy"}).content.decode()
    assert 'hx-get="/runs/?status=Running&amp;metrics=accuracy"' in html


def test_a_filter_with_nothing_active_does_not_poll(client, team, studio_data, scoring):
    studio_data.run(endpoint=scoring, status="Running")
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_list"), {"status": "Failed"}).content.decode()
    assert 'id="live-poll"' not in html and 'id="idle-watch"' in html
