"""The Runs list, the live run page, step logs and outputs, Cancel and Resubmit."""

from datetime import UTC

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.pagination import CappedPaginator
from pipelines.models import Metric, PipelineRun, PublishedPipeline, StepRun

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def htmx(target):
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


def test_runs_list_runs_the_same_queries_for_1_and_50_runs(client, team, studio_data):
    signed_in(client, team.reader)
    url = reverse("pipelines:run_list")
    endpoints = [studio_data.endpoint(f"E{i}") for i in range(8)]

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    studio_data.run(endpoint=endpoints[0])
    one = count()
    for i in range(49):
        studio_data.run(endpoint=endpoints[i % 8], experiment=f"X{i % 5}")
    assert count() == one


def test_runs_list_filters_and_charts_each_endpoint(client, team, studio_data):
    scoring, other = studio_data.endpoint("Scoring"), studio_data.endpoint("Other")
    failed = studio_data.run(endpoint=scoring, status="Failed", experiment="nightly")
    finished = studio_data.run(endpoint=scoring, status="Finished", experiment="nightly")
    elsewhere = studio_data.run(endpoint=other, status="Failed", experiment="adhoc")
    signed_in(client, team.reader)
    html = client.get(reverse("pipelines:run_list")).content.decode()
    assert (
        'aria-label="Recent runs of Scoring"' in html
        and 'aria-label="Recent runs of Other"' in html
    )
    assert html.count('class="bar status-') == 3
    html = client.get(
        reverse("pipelines:run_list"),
        {"endpoint": scoring.pk, "status": "Failed", "experiment": "night"},
        **htmx("results"),
    ).content.decode()
    assert "<html" not in html
    assert f"Run {failed.pk}<" in html
    assert f"Run {finished.pk}<" not in html and f"Run {elsewhere.pk}<" not in html


def test_pickers_list_the_workspaces_endpoints_pipelines_and_people(client, team, studio_data):
    mine = studio_data.endpoint("Scoring")
    theirs = studio_data.endpoint("Theirs", workspace=team.other_workspace)
    html = signed_in(client, team.reader).get(reverse("pipelines:run_list")).content.decode()
    endpoint_picker = html[html.index('<select name="endpoint"') :]
    endpoint_picker = endpoint_picker[: endpoint_picker.index("</select>")]
    assert f'<option value="{mine.pk}">Scoring</option>' in endpoint_picker
    assert "Theirs" not in endpoint_picker
    people = html[html.index('<select name="submitted_by"') :]
    people = people[: people.index("</select>")]
    assert "Contributor" in people and "Reader" in people and "stranger" not in people
    assert "Scoring pipeline 1.0</option>" in html
    assert theirs.pk


def test_runs_list_filters_by_date_and_submitter(client, team, studio_data):
    run = studio_data.run()
    signed_in(client, team.reader)
    url = reverse("pipelines:run_list")
    today = run.created_at.date().isoformat()
    assert f"Run {run.pk}<" in client.get(url, {"created_after": today}).content.decode()
    assert f"Run {run.pk}<" not in client.get(url, {"created_after": "2999-01-01"}).content.decode()
    html = client.get(url, {"submitted_by": team.contributor.pk}).content.decode()
    assert f"Run {run.pk}<" in html
    assert f'<option value="{team.contributor.pk}" selected>Contributor</option>' in html
    assert f"Run {run.pk}<" not in client.get(url, {"submitted_by": team.admin.pk}).content.decode()
    # The picker lists the workspace's people only: another id is refused, not searched.
    html = client.get(url, {"submitted_by": team.stranger.pk}).content.decode()
    assert "Select a valid choice" in html and 'id="id_submitted_by_error"' in html
    bad = client.get(url, {"created_after": "not-a-date"})
    assert bad.status_code == 200 and "Enter a valid date." in bad.content.decode()


def test_run_page_shows_status_parameters_graph_and_steps(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring")
    run = studio_data.run(
        endpoint=endpoint,
        status="Running",
        steps={"prepare": "Finished", "train": "Running", "evaluate": "NotStarted"},
        parameters={"pipeline_arg": 20},
    )
    prepare = run.steps.get(name="prepare")
    prepare.reused_from = StepRun.objects.create(
        run=studio_data.run(), name="old", status="Finished"
    )
    prepare.save()
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    assert 'id="run-status" role="status">Running<' in html
    assert "pipeline_arg" in html and ">20<" in html
    assert 'class="node status-finished reused"' in html
    assert 'class="node status-running selected"' in html  # the running step is chosen
    assert 'class="node status-notstarted"' in html
    assert "♻ reused" in html
    assert 'hx-trigger="every 2s"' in html  # it updates by itself while running
    assert 'id="log-follow"' in html


def test_live_fragment_polls_until_the_run_ends_then_answers_286(client, team, studio_data):
    run = studio_data.run(status="Running")
    signed_in(client, team.reader)
    url = reverse("pipelines:run_detail", args=[run.pk])
    response = client.get(url, **htmx("run-live"))
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert 'hx-trigger="every 2s"' in response.content.decode()
    PipelineRun.objects.filter(pk=run.pk).update(status="Finished")
    response = client.get(url, **htmx("run-live"))
    assert response.status_code == 286
    assert "every 2s" not in response.content.decode()
    assert ">Finished<" in response.content.decode()


def test_step_log_follows_from_an_offset_and_stops_at_the_end(client, team, studio_data):
    run = studio_data.run(status="Running", steps={"prepare": "Running"})
    step = run.steps.get()
    StepRun.objects.filter(pk=step.pk).update(log="line one\n")
    signed_in(client, team.reader)
    url = reverse("pipelines:step_log", args=[run.pk, step.pk])
    response = client.get(url, {"offset": 0})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-swap-oob="beforeend:#step-log">line one' in html
    assert "offset=9" in html and 'hx-trigger="every 1s"' in html
    StepRun.objects.filter(pk=step.pk).update(log="line one\n<b>two</b>\n", status="Finished")
    response = client.get(url, {"offset": 9})
    html = response.content.decode()
    assert response.status_code == 286
    assert "&lt;b&gt;two&lt;/b&gt;" in html and "line one" not in html
    assert 'id="step-extras" hx-swap-oob="true"' in html and "every 1s" not in html


def test_failed_run_shows_the_failing_steps_log(client, team, studio_data):
    run = studio_data.run(status="Failed", steps={"prepare": "Finished", "train": "Failed"})
    StepRun.objects.filter(run=run, name="train").update(
        log="Traceback: ValueError: bad data\n", exit_code=1, failure_reason="exit code 1"
    )
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    assert "Step train</h2>" in html and "ValueError: bad data" in html
    assert "exit code 1" in html and 'id="log-follow"' not in html


def test_outputs_are_download_links_and_stream_from_storage(client, team, studio_data):
    run = studio_data.run(steps={"prepare": "Finished"})
    step = run.steps.get()
    prefix = f"test-pages/{run.pk}/prepared"
    default_storage.save(f"{prefix}/report.txt", ContentFile(b"accuracy 0.9\n"))
    step.outputs = {"prepared": {"path": prefix, "files": ["report.txt"], "digest": "x"}}
    step.save()
    signed_in(client, team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    link = reverse("pipelines:step_output", args=[run.pk, step.pk, "prepared", "report.txt"])
    assert f'href="{link}"' in html
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"accuracy 0.9\n"
    assert 'attachment; filename="report.txt"' in response["Content-Disposition"]
    missing = reverse("pipelines:step_output", args=[run.pk, step.pk, "prepared", "../etc"])
    assert client.get(missing).status_code == 404


def test_metrics_of_the_run_and_of_the_step_are_shown(client, team, studio_data):
    run = studio_data.run(steps={"evaluate": "Finished"})
    studio_data.metric(run, "accuracy", 0.93, step_name="evaluate")
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    assert html.count("<td>accuracy</td>") == 2 and "<code>0.93</code>" in html


def test_run_of_another_workspace_is_404(client, team, studio_data):
    theirs = studio_data.run(workspace=team.other_workspace)
    step = theirs.steps.first()
    signed_in(client, team.admin)
    assert client.get(reverse("pipelines:run_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("pipelines:step_log", args=[theirs.pk, step.pk])).status_code == 404
    assert client.post(reverse("pipelines:run_cancel", args=[theirs.pk])).status_code == 404


def test_contributor_cancels_a_running_run(client, team, studio_data):
    run = studio_data.run(status="Queued", steps={"prepare": "NotStarted"})
    signed_in(client, team.contributor)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    assert ">Cancel</button>" in html
    response = client.post(reverse("pipelines:run_cancel", args=[run.pk]), **htmx("main"))
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("pipelines:run_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status in ("Canceled", "Canceling")


def test_reader_sees_no_cancel_and_a_forged_cancel_is_403(client, team, studio_data):
    run = studio_data.run(status="Running")
    signed_in(client, team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    assert ">Cancel</button>" not in html and ">Resubmit</button>" not in html
    assert client.post(reverse("pipelines:run_cancel", args=[run.pk])).status_code == 403
    assert client.post(reverse("pipelines:run_resubmit", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == "Running" and PipelineRun.objects.count() == 1


def test_cancel_of_an_ended_run_says_so(client, team, studio_data):
    run = studio_data.run(status="Finished")
    response = signed_in(client, team.contributor).post(
        reverse("pipelines:run_cancel", args=[run.pk]), follow=True
    )
    assert "has already ended" in response.content.decode()


def test_resubmit_starts_a_new_run_with_the_same_parameters(client, team, studio_data):
    run = studio_data.run(parameters={"pipeline_arg": 42}, published=studio_data.published())
    response = signed_in(client, team.contributor).post(
        reverse("pipelines:run_resubmit", args=[run.pk])
    )
    new = PipelineRun.objects.exclude(pk=run.pk).get()
    assert response.url == reverse("pipelines:run_detail", args=[new.pk])
    assert new.parameters == {"pipeline_arg": 42} and new.run_source == "Resubmit"


def test_resubmit_of_a_run_of_a_disabled_published_pipeline_is_refused(client, team, studio_data):
    published = studio_data.published(status=PublishedPipeline.Status.DISABLED)
    run = studio_data.run(published=published)
    response = signed_in(client, team.contributor).post(
        reverse("pipelines:run_resubmit", args=[run.pk]), follow=True
    )
    assert "is disabled" in response.content.decode()
    assert list(PipelineRun.objects.values_list("pk", flat=True)) == [run.pk]


def test_html_in_parameters_and_logs_is_shown_as_text(client, team, studio_data):
    run = studio_data.run(
        parameters={"pipeline_arg": "<script>alert(1)</script>"},
        steps={"<img src=x onerror=alert(1)>": "Failed"},
        status="Failed",
    )
    StepRun.objects.filter(run=run).update(log="<script>alert('log')</script>")
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#x27;log&#x27;)&lt;/script&gt;" in html


def test_run_counts_stop_at_the_cap(client, team, studio_data, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 3)
    monkeypatch.setattr("core.pagination.PAGE_SIZE", 2)
    for _ in range(5):
        studio_data.run()
    html = signed_in(client, team.reader).get(reverse("pipelines:run_list")).content.decode()
    assert "Page 1 · more than 3 in all" in html
    paginator = CappedPaginator(PipelineRun.objects.order_by("id"), 2)
    assert paginator.count == 4 and paginator.is_capped


def test_a_long_log_shows_its_end_and_follows_from_there(client, team, studio_data, monkeypatch):
    monkeypatch.setattr("pipelines.queries.LOG_WINDOW", 12)
    run = studio_data.run(status="Running", steps={"prepare": "Running"})
    step = run.steps.get()
    StepRun.objects.filter(pk=step.pk).update(log="0123456789" * 3 + "END\n")
    signed_in(client, team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    assert '">23456789END\n</pre>' in html  # the last 12 characters
    assert "its first 22 characters are not shown" in html
    assert "offset=34" in html
    StepRun.objects.filter(pk=step.pk).update(log="0123456789" * 3 + "END\nmore\n")
    html = client.get(reverse("pipelines:step_log", args=[run.pk, step.pk]), {"offset": 34})
    assert 'beforeend:#step-log">more\n</span>' in html.content.decode()
    assert "offset=39" in html.content.decode()


@pytest.mark.parametrize(
    ("label", "shown"), [("token nightly", "token nightly"), ("", "—")], ids=["token", "none"]
)
def test_run_page_of_a_run_with_no_submitting_user(client, team, studio_data, label, shown):
    # A token made by `manage.py create_token` has no creator: its runs have no submitted_by.
    run = studio_data.run(
        endpoint=studio_data.endpoint("Nightly"), submitted_by=None, submitted_by_label=label
    )
    response = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    assert response.status_code == 200
    assert f"<dt>Submitted by</dt><dd>{shown} " in response.content.decode()


def test_values_show_as_json_not_python(client, team, studio_data):
    run = studio_data.run(parameters={"flag": True, "layers": [64, 32], "note": "a <b>"})
    # One key each: PostgreSQL's jsonb does not keep the order keys were written in.
    Metric.objects.create(run=run, name="row", kind="row", value={"class": "setosa"})
    Metric.objects.create(run=run, name="flags", kind="list", value=[True, None])
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    assert '<code class="param-value">true</code>' in html
    assert '<code class="param-value">[64, 32]</code>' in html
    assert '<code class="param-value">a &lt;b&gt;</code>' in html
    assert "<code>{&quot;class&quot;: &quot;setosa&quot;}</code>" in html
    assert "<code>[true, null]</code>" in html
    assert "True" not in html and "&#x27;setosa&#x27;" not in html


def test_times_are_utc_iso_for_the_browser_to_localise(client, team, studio_data, settings):
    settings.TIME_ZONE = "Europe/Paris"  # the server's zone never leaks into the page
    run = studio_data.run()
    html = signed_in(client, team.reader).get(reverse("pipelines:run_detail", args=[run.pk]))
    html = html.content.decode()
    stamp = run.created_at.astimezone(UTC).isoformat(timespec="seconds")
    assert f'<time datetime="{stamp}" data-local="datetime"' in html
    assert f"{run.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC</time>" in html
    listed = client.get(reverse("pipelines:run_list")).content.decode()
    assert f'<time datetime="{stamp}" data-local="relative"' in listed


def test_runs_chart_has_axes_and_leaves_reused_runs_out(client, team, studio_data):
    scoring = studio_data.endpoint("Scoring")
    ran = studio_data.run(endpoint=scoring, seconds=30)
    reused = studio_data.run(endpoint=scoring, seconds=0)  # every step reused: no time spent
    html = signed_in(client, team.reader).get(reverse("pipelines:run_list")).content.decode()
    chart = html[html.index('aria-label="Recent runs of Scoring"') :]
    chart = chart[: chart.index("</svg>")]
    assert ">Duration (s)</text>" in chart and ">Run</text>" in chart
    assert f"<title>Run {ran.pk}: Finished, 30.0 s</title>" in chart
    assert f"<title>Run {reused.pk}: Finished, every step reused</title>" in chart
    assert chart.count('<rect class="bar') == 1  # the reused run is a marked gap, not 0 s
