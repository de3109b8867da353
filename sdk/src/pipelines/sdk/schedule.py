"""Schedules: runs of a published pipeline or a pipeline endpoint at recurring times, with
the cloud SDK's ``Schedule`` and ``ScheduleRecurrence`` names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._resource import Resource
from .errors import StudioError, ValidationError
from .runs import PipelineRun

if TYPE_CHECKING:
    from .workspace import Workspace

# Arguments of the cloud SDK for schedules that fire on datastore changes, which the studio
# does not have.
_DATASTORE_ARGUMENTS = (
    "datastore",
    "path_on_datastore",
    "polling_interval",
    "data_path_parameter_name",
)


@dataclass
class ScheduleRecurrence:
    """When a schedule fires: every ``interval`` ``frequency`` ("Minute", "Hour", "Day",
    "Week" or "Month") from ``start_time``, in ``time_zone`` (an IANA name such as
    "Europe/Berlin"; default UTC).

    ``start_time`` is a datetime or ISO text; without an offset it is wall time in
    ``time_zone``. For "Day" and "Week", ``hours`` and ``minutes`` give the times of day
    (or ``time_of_day="02:30"``); for "Week", ``week_days`` the days ("Monday"…"Sunday").
    """

    frequency: str
    interval: int
    start_time: datetime | str | None = None
    time_zone: str | None = None
    hours: list[int] = field(default_factory=list)
    minutes: list[int] = field(default_factory=list)
    week_days: list[str] = field(default_factory=list)
    time_of_day: str | None = None

    def __post_init__(self) -> None:
        if self.time_of_day:
            hour, _, minute = str(self.time_of_day).partition(":")
            if not (hour.isdigit() and minute.isdigit()):
                raise ValidationError(f"time_of_day must look like 02:30, not {self.time_of_day!r}")
            self.hours, self.minutes = [int(hour)], [int(minute)]

    def to_api(self) -> dict[str, Any]:
        """The REST body's ``Recurrence``, ``StartTime`` and ``TimeZone`` fields."""
        body: dict[str, Any] = {
            "Recurrence": {
                "Frequency": self.frequency,
                "Interval": self.interval,
                "Hours": list(self.hours or []),
                "Minutes": list(self.minutes or []),
                "WeekDays": list(self.week_days or []),
            }
        }
        if self.start_time is not None:
            start = self.start_time
            body["StartTime"] = start.isoformat() if isinstance(start, datetime) else str(start)
        if self.time_zone:
            body["TimeZone"] = self.time_zone
        return body

    @classmethod
    def from_api(cls, details: dict[str, Any]) -> ScheduleRecurrence | None:
        """The recurrence of a schedule as the REST API describes it (None for cron)."""
        recurrence = details.get("Recurrence")
        if not recurrence:
            return None
        return cls(
            frequency=recurrence["Frequency"],
            interval=recurrence["Interval"],
            start_time=details.get("StartTime"),
            time_zone=details.get("TimeZone"),
            hours=list(recurrence.get("Hours") or []),
            minutes=list(recurrence.get("Minutes") or []),
            week_days=list(recurrence.get("WeekDays") or []),
        )


def _refuse_datastore_arguments(kwargs: dict[str, Any]) -> None:
    given = [name for name in _DATASTORE_ARGUMENTS if kwargs.get(name) is not None]
    if given:
        raise ValidationError(
            f"{', '.join(given)}: schedules that fire on datastore changes do not exist here; "
            "use a recurrence or a cron expression"
        )


class Schedule(Resource):
    """Runs of a published pipeline or a pipeline endpoint (its default version at the time)
    at the slots of a :class:`ScheduleRecurrence` or a cron expression.

    Create one with :meth:`create`, find them with :meth:`get` and :meth:`list`. Each slot
    runs once, with ``RunSource`` "Schedule"; :meth:`disable` pauses the schedule (it is
    not the Admin's disabling of a pipeline: a schedule whose pipeline is disabled records
    a skipped slot instead of a run).
    """

    collection = "/schedules"

    def __repr__(self) -> str:
        return f"Schedule(id={self.id!r}, name={self.name!r}, status={self.status!r})"

    @classmethod
    def create(
        cls,
        workspace: Workspace,
        name: str,
        pipeline_id: str | None = None,
        experiment_name: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        pipeline_endpoint_id: str | None = None,
        *,
        cron: str | None = None,
        time_zone: str | None = None,
        catch_up: str | None = None,
        **cloud_only: Any,
    ) -> Schedule:
        """Schedule runs of ``pipeline_id`` (a published pipeline) or of
        ``pipeline_endpoint_id``, given a ``recurrence`` or a five-field ``cron`` expression
        (evaluated in ``time_zone``). ``catch_up`` ("latest", the default, or "none") says
        whether the latest slot missed while the studio was down still runs.

        The server checks everything and answers ``BadRequestError`` naming the field (an
        unknown parameter, a bad cron expression, an unknown time zone…).
        """
        _refuse_datastore_arguments(cloud_only)
        body: dict[str, Any] = {
            "Name": name,
            "ExperimentName": experiment_name,
            "ParameterAssignments": dict(pipeline_parameters or {}),
            "Description": description or "",
        }
        if pipeline_id is not None:
            body["PipelineId"] = int(pipeline_id)
        if pipeline_endpoint_id is not None:
            body["PipelineEndpointId"] = int(pipeline_endpoint_id)
        body.update(_timing(recurrence, cron, time_zone, catch_up))
        return cls(workspace, workspace._http.post(cls.collection, json=body))

    @classmethod
    def get(cls, workspace: Workspace, id: str) -> Schedule:
        """The schedule with this id; ``NotFoundError`` when there is none."""
        return cls(workspace, workspace._http.get(f"{cls.collection}/{id}"))

    @classmethod
    def list(
        cls,
        workspace: Workspace,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[Schedule]:
        """The workspace's schedules (paused ones only when not ``active_only``),
        optionally of one published pipeline or endpoint."""
        params = {}
        if pipeline_id is not None:
            params["pipeline_id"] = str(pipeline_id)
        if pipeline_endpoint_id is not None:
            params["pipeline_endpoint_id"] = str(pipeline_endpoint_id)
        answer = workspace._http.get(cls.collection, params=params)
        schedules = [cls(workspace, item) for item in answer["Items"]]
        return [s for s in schedules if s.status == "Active"] if active_only else schedules

    @classmethod
    def get_all(cls, workspace: Workspace, active_only: bool = True, **filters: Any) -> list:
        """Same as :meth:`list` (the cloud SDK's older name)."""
        return cls.list(workspace, active_only=active_only, **filters)

    @classmethod
    def get_schedules_for_pipeline_id(cls, workspace: Workspace, pipeline_id: str) -> list:
        """The schedules of one published pipeline, paused ones included."""
        return cls.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @classmethod
    def get_schedules_for_pipeline_endpoint_id(
        cls, workspace: Workspace, pipeline_endpoint_id: str
    ) -> list:
        """The schedules of one pipeline endpoint, paused ones included."""
        return cls.list(workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id)

    # --- Properties as last fetched -------------------------------------------------

    @property
    def status(self) -> str:
        """``"Active"`` or ``"Paused"`` (the cloud SDK said "Disabled")."""
        return str(self._details.get("Status", ""))

    @property
    def pipeline_id(self) -> str | None:
        """The published pipeline this schedule runs, or None when it runs an endpoint."""
        return self._details.get("PipelineId")

    @property
    def pipeline_endpoint_id(self) -> str | None:
        """The pipeline endpoint this schedule runs (its default version when it fires), or None."""
        return self._details.get("PipelineEndpointId")

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        """The recurrence the schedule fires on, or None when it fires on a cron expression."""
        return ScheduleRecurrence.from_api(self._details)

    @property
    def cron(self) -> str | None:
        """The cron expression the schedule fires on, or None when it has a recurrence."""
        return self._details.get("Cron")

    @property
    def next_fire_times(self) -> list[datetime]:
        """The next five slots (aware, UTC)."""
        return [_parse_time(t) for t in self._details.get("NextFireTimes") or []]

    # --- Changes ---------------------------------------------------------------------

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Pause the schedule: no slot fires until :meth:`enable` (Contributor)."""
        self._details = self.workspace._http.post(f"{self._path}/pause", idempotent=True)

    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Resume from the next slot; slots passed while paused do not fire (Contributor)."""
        self._details = self.workspace._http.post(f"{self._path}/resume", idempotent=True)

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        status: str | None = None,
        *,
        experiment_name: str | None = None,
        cron: str | None = None,
        time_zone: str | None = None,
        catch_up: str | None = None,
        **cloud_only: Any,
    ) -> None:
        """Change what is given; ``status`` "Active" resumes, "Paused"/"Disabled" pauses."""
        _refuse_datastore_arguments(cloud_only)
        body: dict[str, Any] = {}
        for key, value in (
            ("Name", name),
            ("Description", description),
            ("ParameterAssignments", pipeline_parameters),
            ("ExperimentName", experiment_name),
        ):
            if value is not None:
                body[key] = value
        if recurrence is not None or cron is not None or time_zone is not None:
            body.update(_timing(recurrence, cron, time_zone, None))
        if catch_up is not None:
            body["CatchUp"] = catch_up
        if body:
            self._details = self.workspace._http.request(
                "PATCH", self._path, json=body, idempotent=True
            )
        if status is not None:
            if status == "Active":
                self.enable()
            elif status in ("Paused", "Disabled"):
                self.disable()
            else:
                raise ValidationError(f"status must be Active or Paused, not {status!r}")

    def delete(self) -> None:
        """Delete the schedule; the runs it started stay."""
        self.workspace._http.request("DELETE", self._path, idempotent=True)

    # --- Runs ------------------------------------------------------------------------

    def get_pipeline_runs(self) -> list[PipelineRun]:
        """The runs this schedule started, newest first."""
        answer = self.workspace._http.get(f"{self._path}/runs")
        return [PipelineRun(self.workspace, item["Id"], item) for item in answer["Items"]]

    def get_last_pipeline_run(self) -> PipelineRun | None:
        """The latest run this schedule started, or None."""
        answer = self.workspace._http.get(f"{self._path}/runs", params={"limit": 1})
        items = answer["Items"]
        return PipelineRun(self.workspace, items[0]["Id"], items[0]) if items else None


def _timing(recurrence, cron, time_zone, catch_up) -> dict[str, Any]:
    if recurrence is not None and cron is not None:
        raise ValidationError("give either recurrence or cron, not both")
    body: dict[str, Any] = {}
    if recurrence is not None:
        if not isinstance(recurrence, ScheduleRecurrence):
            raise StudioError(f"recurrence must be a ScheduleRecurrence, got {recurrence!r}")
        body.update(recurrence.to_api())
    if cron is not None:
        body["Cron"] = cron
    if time_zone is not None:
        body["TimeZone"] = time_zone
    if catch_up is not None:
        body["CatchUp"] = catch_up
    return body


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
