"""Schedules over raw HTTP: create, read, change, pause, delete, runs; bad input is 400."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.firing import fire_due
from schedules.models import Schedule
from studio.models import AuditEvent


def body(studio, **fields):
    return {
        "Name": "Nightly",
        "PipelineEndpointId": studio.endpoint.pk,
        "ExperimentName": "Nightly_retrain",
        "ParameterAssignments": {"epochs": 20},
        "Recurrence": {"Frequency": "Day", "Interval": 1, "Hours": [2], "Minutes": [30]},
        "TimeZone": "Europe/Berlin",
        "StartTime": "2026-01-01T00:00:00",
        **fields,
    }


def test_create_a_schedule_and_read_its_next_fire_times(api, studio, tokens):
    response = api.post("/schedules", tokens["contributor"], json=body(studio))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["Status"] == "Active" and created["PipelineEndpointId"] == str(
        studio.endpoint.pk
    )
    assert created["ParameterAssignments"] == {"epochs": 20}
    assert created["Recurrence"]["Hours"] == [2] and created["Cron"] is None
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in created["NextFireTimes"]]
    local = [t.astimezone(ZoneInfo("Europe/Berlin")) for t in times]
    assert {(t.hour, t.minute) for t in local} == {(2, 30)}
    assert [t.date() for t in local] == [local[0].date() + timedelta(days=n) for n in range(5)]
    assert created["StartTime"].startswith("2025-12-31T23:00:00")  # Berlin midnight in UTC
    assert api.get(f"/schedules/{created['Id']}", tokens["reader"]).json()["Name"] == "Nightly"
    listed = api.get("/schedules", tokens["reader"]).json()["Items"]
    assert [s["Name"] for s in listed] == ["Nightly"]
    other = api.get("/schedules", tokens["other"]).json()["Items"]
    assert other == []
    assert api.get(f"/schedules/{created['Id']}", tokens["other"]).status_code == 404
    event = AuditEvent.objects.get(action="schedule.created")
    assert event.actor_label == "token test contributor"


def test_cron_schedule_on_a_published_pipeline(api, studio, tokens):
    fields = body(studio, PipelineEndpointId=None, PipelineId=studio.published.pk)
    del fields["Recurrence"]
    response = api.post("/schedules", tokens["contributor"], json={**fields, "Cron": "0 6 * * 1-5"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["Cron"] == "0 6 * * 1-5" and created["Recurrence"] is None
    weekdays = {datetime.fromisoformat(t).weekday() for t in created["NextFireTimes"]}
    assert weekdays <= {0, 1, 2, 3, 4}


def test_pause_resume_update_delete_and_runs(api, studio, tokens):
    created = api.post("/schedules", tokens["contributor"], json=body(studio)).json()
    path = f"/schedules/{created['Id']}"
    paused = api.post(f"{path}/pause", tokens["contributor"]).json()
    assert paused["Status"] == "Paused" and paused["NextFireTimes"] == []
    assert api.post(f"{path}/resume", tokens["contributor"]).json()["Status"] == "Active"
    changed = api.patch(
        path,
        tokens["contributor"],
        json={"Recurrence": {"Frequency": "Hour", "Interval": 6}, "Description": "every 6 h"},
    ).json()
    assert changed["Recurrence"]["Frequency"] == "Hour" and changed["Description"] == "every 6 h"
    schedule = Schedule.objects.get(pk=int(created["Id"]))
    fire_due(now=schedule.next_fire_at + timedelta(seconds=1))
    runs = api.get(f"{path}/runs", tokens["reader"]).json()["Items"]
    assert [r["RunSource"] for r in runs] == ["Schedule"]
    assert api.get(path, tokens["reader"]).json()["LastRun"]["Id"] == runs[0]["Id"]
    assert api.get(path, tokens["reader"]).json()["LastRun"]["Status"] == runs[0]["Status"]
    assert api.get(f"{path}/runs?limit=200", tokens["reader"]).json()["Items"] == runs
    for limit in ("0", "201", "many"):
        refused = api.get(f"{path}/runs?limit={limit}", tokens["reader"])
        assert refused.status_code == 400, limit
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["limit"]
    assert api.delete(path, tokens["contributor"]).status_code == 204
    assert api.get(path, tokens["reader"]).status_code == 404
    actions = AuditEvent.objects.filter(object_type="Schedule").values_list("action", flat=True)
    assert sorted(actions) == sorted(
        [
            "schedule.created",
            "schedule.paused",
            "schedule.resumed",
            "schedule.updated",
            "schedule.deleted",
        ]
    )


def test_readers_cannot_change_schedules(api, studio, tokens):
    assert api.post("/schedules", tokens["reader"], json=body(studio)).status_code == 403
    created = api.post("/schedules", tokens["contributor"], json=body(studio)).json()
    assert api.post(f"/schedules/{created['Id']}/pause", tokens["reader"]).status_code == 403
    assert api.delete(f"/schedules/{created['Id']}", tokens["reader"]).status_code == 403
    assert Schedule.objects.get().is_paused is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Cron": "61 * * * *", "Recurrence": None}, "Cron"),
        ({"Cron": "* * *", "Recurrence": None}, "Cron"),
        ({"Cron": "0 0 * * *"}, "Cron"),  # and a Recurrence: both
        ({"Recurrence": None}, "Recurrence"),  # neither
        ({"TimeZone": "Mars/Olympus"}, "TimeZone"),
        ({"TimeZone": "../../etc/passwd"}, "TimeZone"),
        ({"Recurrence": {"Frequency": "Day", "Interval": 0}}, "Recurrence.Interval"),
        ({"Recurrence": {"Frequency": "Day", "Interval": "x"}}, "Recurrence.Interval"),
        ({"Recurrence": {"Frequency": "Yearly"}}, "Recurrence.Frequency"),
        ({"Recurrence": {"Frequency": "Day", "Hours": [24]}}, "Recurrence.Hours"),
        ({"Recurrence": {"Frequency": "Day", "Bogus": 1}}, "Recurrence.Bogus"),
        ({"ParameterAssignments": {"nope": 1}}, "ParameterAssignments.nope"),
        ({"ParameterAssignments": {"epochs": "many"}}, "ParameterAssignments.epochs"),
        ({"StartTime": "yesterday"}, "StartTime"),
        ({"ExperimentName": ""}, "ExperimentName"),
        ({"Name": ""}, "Name"),
        ({"Name": "x" * 300}, "Name"),
        ({"CatchUp": "all"}, "CatchUp"),
        ({"PipelineId": 1}, "PipelineId"),  # both targets
        ({"PipelineEndpointId": None}, "PipelineId"),  # neither
        ({"Extra": True}, "Extra"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(api, studio, tokens, change, field):
    fields = {k: v for k, v in {**body(studio), **change}.items() if v is not None}
    response = api.post("/schedules", tokens["contributor"], json=fields)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [d["field"] for d in error["details"]], error
    assert not Schedule.objects.exists()


def test_a_taken_name_is_409(api, studio, tokens):
    assert api.post("/schedules", tokens["contributor"], json=body(studio)).status_code == 201
    again = api.post("/schedules", tokens["contributor"], json=body(studio))
    assert again.status_code == 409 and again.json()["error"]["details"][0]["field"] == "Name"


def test_another_workspaces_target_is_404(api, studio, tokens, studio_data):
    foreign = studio_data.published("Theirs", workspace=studio.team.other_workspace)
    fields = body(studio, PipelineEndpointId=None, PipelineId=foreign.pk)
    assert api.post("/schedules", tokens["contributor"], json=fields).status_code == 404
    assert not Schedule.objects.exists()


def test_routes_are_in_the_openapi_document(api, tokens):
    paths = api.get("/openapi.json", tokens["reader"]).json()["paths"]
    for route in ("/api/v1/schedules", "/api/v1/schedules/{id}", "/api/v1/schedules/{id}/runs"):
        assert route in paths
