"""Schedules pages: the workspace list, a target's tab, the form, pause/resume/delete."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schedules.firing import fire_due
from schedules.models import Schedule
from studio.models import AuditEvent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

FORM = {
    "name": "Nightly",
    "experiment_name": "Nightly_retrain",
    "kind": "recurrence",
    "frequency": "Day",
    "interval": "1",
    "hours": "2",
    "minutes": "30",
    "time_zone": "Europe/Berlin",
    "catch_up": "latest",
    "p_pipeline_arg": "20",
}


def test_contributor_creates_a_schedule_from_the_endpoint_page(client, team, studio_data):
    endpoint = studio_data.endpoint("Churn")
    client.force_login(team.contributor)
    tab = client.get(reverse("schedules:endpoint_schedules", args=[endpoint.pk])).content.decode()
    assert "No schedules" in tab and "New schedule" in tab
    url = reverse("schedules:endpoint_schedule_new", args=[endpoint.pk])
    response = client.post(url, FORM)
    schedule = Schedule.objects.get()
    assert response.status_code == 302 and schedule.pipeline_endpoint == endpoint
    assert schedule.parameters == {"pipeline_arg": 20} and schedule.hours == [2]
    page = client.get(reverse("schedules:endpoint_schedules", args=[endpoint.pk])).content
    row = page.decode().split(f'id="schedule-{schedule.pk}"')[1].split("</tr>")[0]
    assert row.count("<time datetime=") == 5 and "every 1 Day at 02:30 (Europe/Berlin)" in row
    assert AuditEvent.objects.filter(action="schedule.created", actor=team.contributor).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"interval": "0"}, "interval", "from 1 to 1000"),
        ({"kind": "cron", "cron": "61 * * * *"}, "cron", "Bad minute"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Mars/Olympus"),
        ({"p_pipeline_arg": "twenty"}, "p_pipeline_arg", "integer"),
        ({"hours": "2, x"}, "hours", "0 to 23"),
    ],
)
def test_bad_form_input_is_shown_beside_the_field(
    client, team, studio_data, change, field, message
):
    endpoint = studio_data.endpoint("Churn")
    client.force_login(team.contributor)
    url = reverse("schedules:endpoint_schedule_new", args=[endpoint.pk])
    response = client.post(url, {**FORM, **change})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not Schedule.objects.exists()


def make(team, target, name="Nightly"):
    data = {
        "Name": name,
        "ExperimentName": "E",
        "Recurrence": {"Frequency": "Hour", "Interval": 1},
    }
    return Schedule.create(team.workspace, target, data, by=team.contributor)


def test_pause_resume_and_delete_with_htmx(client, team, studio_data):
    schedule = make(team, studio_data.published("P"))
    client.force_login(team.contributor)
    row = client.post(reverse("schedules:schedule_pause", args=[schedule.pk]), **HTMX)
    assert ">Resume</button>" in row.content.decode() and "paused" in row.content.decode()
    schedule.refresh_from_db()
    assert schedule.is_paused
    client.post(reverse("schedules:schedule_resume", args=[schedule.pk]), **HTMX)
    schedule.refresh_from_db()
    assert not schedule.is_paused
    gone = client.post(reverse("schedules:schedule_delete", args=[schedule.pk]), **HTMX)
    assert gone.content == b"" and not Schedule.objects.exists()


def test_readers_see_schedules_but_cannot_change_them(client, team, studio_data):
    schedule = make(team, studio_data.published("P"))
    client.force_login(team.reader)
    html = client.get(reverse("schedules:schedule_list")).content.decode()
    assert "Nightly" in html and ">Pause</button>" not in html
    assert client.post(reverse("schedules:schedule_pause", args=[schedule.pk])).status_code == 403
    assert client.post(reverse("schedules:schedule_delete", args=[schedule.pk])).status_code == 403
    new = reverse("schedules:published_schedule_new", args=[schedule.published_pipeline_id])
    assert client.post(new, {**FORM, "name": "Other"}).status_code == 403
    assert Schedule.objects.get().is_paused is False


def test_another_workspaces_schedules_are_404_and_not_listed(client, team, studio_data):
    theirs = studio_data.published("Theirs", workspace=team.other_workspace)
    schedule = Schedule.create(
        team.other_workspace,
        theirs,
        {"Name": "Theirs", "ExperimentName": "E", "Cron": "0 * * * *"},
        by=team.stranger,
    )
    client.force_login(team.admin)
    assert "Theirs" not in client.get(reverse("schedules:schedule_list")).content.decode()
    assert client.get(reverse("schedules:schedule_detail", args=[schedule.pk])).status_code == 404
    assert client.post(reverse("schedules:schedule_pause", args=[schedule.pk])).status_code == 404


def test_list_runs_the_same_queries_for_1_and_20_schedules(client, team, studio_data):
    published = studio_data.published("P")
    make(team, published, "First")
    client.force_login(team.reader)
    url = reverse("schedules:schedule_list")
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    endpoint = studio_data.endpoint("E")
    for n in range(19):
        make(team, endpoint if n % 2 else published, f"S{n:02}")
    with CaptureQueriesContext(connection) as twenty:
        html = client.get(url).content.decode()
    assert html.count('<tr id="schedule-') == 20
    assert len(twenty) == len(one)


def test_the_schedule_page_lists_runs_and_skipped_slots(client, team, studio_data):
    published = studio_data.published("P")
    schedule = make(team, published)
    published.disable(by=team.admin, reason="broken data")
    fire_due(now=schedule.next_fire_at + timedelta(seconds=1))
    client.force_login(team.reader)
    html = client.get(reverse("schedules:schedule_detail", args=[schedule.pk])).content.decode()
    assert "is disabled" in html and "This published pipeline is disabled" in html


def test_a_run_page_names_the_schedule_that_started_it(client, team, studio_data):
    schedule = make(team, studio_data.published("P"))
    fire_due(now=schedule.next_fire_at + timedelta(seconds=1))
    run = schedule.firings.get().run
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[run.pk])).content.decode()
    link = reverse("schedules:schedule_detail", args=[schedule.pk])
    assert f'via schedule <a href="{link}">Nightly</a>' in html
    by_hand = studio_data.run()
    html = client.get(reverse("pipelines:run_detail", args=[by_hand.pk])).content.decode()
    assert "via schedule" not in html


def test_edit_changes_the_timetable_and_is_audited(client, team, studio_data):
    schedule = make(team, studio_data.published("P"))
    client.force_login(team.contributor)
    url = reverse("schedules:schedule_edit", args=[schedule.pk])
    form = client.get(url).context["form"]
    assert form.initial["frequency"] == "Hour" and form.initial["name"] == "Nightly"
    data = {**FORM, "name": "Nightly", "kind": "cron", "cron": "15 4 * * *", "time_zone": "UTC"}
    assert client.post(url, data).status_code == 302
    schedule.refresh_from_db()
    assert schedule.cron == "15 4 * * *" and schedule.frequency == ""
    assert {(t.hour, t.minute) for t in schedule.next_fire_times()} == {(4, 15)}
    event = AuditEvent.objects.get(action="schedule.updated")
    assert "cron" in event.details["fields"]
