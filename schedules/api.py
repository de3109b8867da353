"""REST routes of schedules: list, create, read, change, delete, pause, resume, their runs.

Reading needs the Reader role; every change needs Contributor (a schedule is a repeated
submit, and Contributors submit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict
from typing_extensions import TypeAliasType

from core.errors import ApiError
from endpoints.models import PipelineEndpoint
from pipelines.models import PublishedPipeline, RunStatus
from pipelines.schemas import RunList, run_out
from studio.api_errors import READ_ERRORS, WRITE_ERRORS, Error
from studio.api_types import Id, RowId
from studio.api_types import ParameterAssignments as AssignmentsType
from studio.models import Role

from .models import Schedule
from .queries import runs_of, schedules_for_listing
from .timetable import WEEK_DAYS

router = Router(tags=["schedules"])

# A schedule's status, named once in the OpenAPI document (a paused schedule fires no slot).
ScheduleStatus = TypeAliasType("ScheduleStatus", Literal["Active", "Paused"])
# The recurrence's unit, its week days and what happens to missed slots, named once for
# generated clients (the values are the model's and the timetable's).
Frequency = TypeAliasType("Frequency", Literal[tuple(Schedule.Frequency.values)])
CatchUp = TypeAliasType("CatchUp", Literal[tuple(Schedule.CatchUp.values)])
WeekDay = TypeAliasType("WeekDay", Literal[WEEK_DAYS])


class RecurrenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    Frequency: str = Field(..., description="Minute, Hour, Day, Week or Month")
    Interval: int = Field(1, description="Fire every Interval units (1 to 1000)")
    Hours: list[int] = Field([], max_length=24, description="Day and Week: hours of the day")
    Minutes: list[int] = Field([], max_length=60, description="Day and Week: minutes")
    WeekDays: list[str] = Field([], max_length=7, description="Week: Monday … Sunday")


class ScheduleChange(Schema):
    model_config = ConfigDict(extra="forbid")

    Name: str | None = Field(None, max_length=255)
    Description: str | None = Field(None, max_length=10_000)
    ExperimentName: str | None = Field(None, max_length=255)
    ParameterAssignments: AssignmentsType | None = None
    Recurrence: RecurrenceIn | None = None
    Cron: str | None = Field(None, max_length=120, description="Five-field cron expression")
    StartTime: str | None = Field(
        None, max_length=64, description="ISO 8601; without an offset it is wall time in TimeZone"
    )
    TimeZone: str | None = Field(None, max_length=64, description="IANA name, e.g. Europe/Berlin")
    CatchUp: str | None = Field(None, description="latest (default) or none: missed slots")


class ScheduleIn(ScheduleChange):
    PipelineId: Id | None = Field(None, description="A published pipeline to run…")
    PipelineEndpointId: Id | None = Field(None, description="…or an endpoint (its default)")


class RecurrenceOut(Schema):
    Frequency: Frequency
    Interval: int
    Hours: list[int]
    Minutes: list[int]
    WeekDays: list[WeekDay]


class LastRunOut(Schema):
    Id: str
    Status: RunStatus
    CreatedTime: datetime


class ScheduleOut(Schema):
    Id: str
    Name: str
    Description: str
    Status: ScheduleStatus
    PipelineId: str | None
    PipelineEndpointId: str | None
    ExperimentName: str
    ParameterAssignments: AssignmentsType
    Recurrence: RecurrenceOut | None
    Cron: str | None
    StartTime: datetime
    TimeZone: str
    CatchUp: CatchUp
    NextFireTimes: list[datetime] = Field(..., description="The next five slots (UTC)")
    LastRun: LastRunOut | None
    CreatedBy: str
    CreatedTime: datetime
    UpdatedTime: datetime


class ScheduleList(Schema):
    Items: list[ScheduleOut]


def schedule_out(schedule: Schedule) -> dict:
    """The REST shape of a schedule (``last_run_*`` annotations used when loaded)."""
    if not hasattr(schedule, "last_run_id"):
        schedule = schedules_for_listing(schedule.workspace_id).get(pk=schedule.pk)
    recurrence = None
    if not schedule.cron:
        recurrence = {
            "Frequency": schedule.frequency,
            "Interval": schedule.interval,
            "Hours": schedule.hours,
            "Minutes": schedule.minutes,
            "WeekDays": schedule.week_days,
        }
    last_run = None
    if schedule.last_run_id is not None:
        last_run = {
            "Id": str(schedule.last_run_id),
            "Status": schedule.last_run_status,
            "CreatedTime": schedule.last_run_at,
        }
    return {
        "Id": str(schedule.pk),
        "Name": schedule.name,
        "Description": schedule.description,
        "Status": schedule.status,
        "PipelineId": _id(schedule.published_pipeline_id),
        "PipelineEndpointId": _id(schedule.pipeline_endpoint_id),
        "ExperimentName": schedule.experiment_name,
        "ParameterAssignments": schedule.parameters,
        "Recurrence": recurrence,
        "Cron": schedule.cron or None,
        "StartTime": schedule.start_time,
        "TimeZone": schedule.time_zone,
        "CatchUp": schedule.catch_up,
        "NextFireTimes": schedule.next_fire_times(5),
        "LastRun": last_run,
        "CreatedBy": schedule.created_by.get_username() if schedule.created_by else "",
        "CreatedTime": schedule.created_at,
        "UpdatedTime": schedule.updated_at,
    }


def _id(value) -> str | None:
    return None if value is None else str(value)


def _schedule(request, id: Id, role: str = Role.READER) -> Schedule:
    queryset = schedules_for_listing(request.auth.workspace)
    return request.auth.load(queryset, id, "Schedule", role)


def _target(request, payload: ScheduleIn):
    if (payload.PipelineId is None) == (payload.PipelineEndpointId is None):
        message = "give exactly one of PipelineId and PipelineEndpointId"
        raise ApiError(
            400,
            "invalid",
            f"A schedule runs one target: {message}.",
            [{"field": "PipelineId", "message": message}],
        )
    if payload.PipelineId is not None:
        return request.auth.load(PublishedPipeline, payload.PipelineId, "Published pipeline")
    return request.auth.load(PipelineEndpoint, payload.PipelineEndpointId, "Pipeline endpoint")


def _fields(payload: ScheduleChange) -> dict:
    return payload.model_dump(exclude_unset=True, exclude={"PipelineId", "PipelineEndpointId"})


@router.get("/schedules", response={200: ScheduleList, 401: Error})
def list_schedules(
    request, pipeline_id: RowId | None = None, pipeline_endpoint_id: RowId | None = None
):
    """Schedules of the workspace by name, optionally of one published pipeline or endpoint."""
    rows = schedules_for_listing(request.auth.workspace)
    if pipeline_id is not None:
        rows = rows.filter(published_pipeline_id=pipeline_id)
    if pipeline_endpoint_id is not None:
        rows = rows.filter(pipeline_endpoint_id=pipeline_endpoint_id)
    return {"Items": [schedule_out(s) for s in rows]}


@router.post("/schedules", response={201: ScheduleOut, **WRITE_ERRORS})
def create_schedule(request, payload: ScheduleIn):
    """Schedule runs of a published pipeline or endpoint (Contributor). 400 names the field."""
    principal = request.auth
    principal.require(Role.CONTRIBUTOR)
    target = _target(request, payload)
    target.workspace = principal.workspace
    schedule = Schedule.create(principal.workspace, target, _fields(payload), by=principal.actor)
    return Status(201, schedule_out(schedule))


@router.get("/schedules/{id}", response={200: ScheduleOut, **READ_ERRORS})
def get_schedule(request, id: Id):
    return schedule_out(_schedule(request, id))


@router.patch("/schedules/{id}", response={200: ScheduleOut, **WRITE_ERRORS})
def update_schedule(request, id: Id, payload: ScheduleChange):
    """Change the fields given (Contributor); a changed timetable counts from now."""
    schedule = _schedule(request, id, Role.CONTRIBUTOR)
    schedule.update(_fields(payload), by=request.auth.actor)
    return schedule_out(schedule)


@router.delete("/schedules/{id}", response={204: None, **WRITE_ERRORS})
def delete_schedule(request, id: Id):
    """Delete the schedule (Contributor); the runs it started stay."""
    _schedule(request, id, Role.CONTRIBUTOR).remove(by=request.auth.actor)
    return Status(204, None)


@router.post("/schedules/{id}/pause", response={200: ScheduleOut, **WRITE_ERRORS})
def pause_schedule(request, id: Id):
    """Stop firing until resumed (Contributor)."""
    schedule = _schedule(request, id, Role.CONTRIBUTOR)
    schedule.pause(by=request.auth.actor)
    return schedule_out(schedule)


@router.post("/schedules/{id}/resume", response={200: ScheduleOut, **WRITE_ERRORS})
def resume_schedule(request, id: Id):
    """Fire again from the next slot; slots passed while paused do not fire (Contributor)."""
    schedule = _schedule(request, id, Role.CONTRIBUTOR)
    schedule.resume(by=request.auth.actor)
    return schedule_out(schedule)


@router.get("/schedules/{id}/runs", response={200: RunList, **READ_ERRORS})
def list_schedule_runs(request, id: Id, limit: int = Query(50, ge=1, le=200)):
    """The runs the schedule started, newest first (at most ``limit``, 1 to 200)."""
    runs = runs_of(_schedule(request, id))[:limit]
    return {"Items": [run_out(request, run) for run in runs], "NextCursor": None}
