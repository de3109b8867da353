"""Checking what a schedule is asked to be, before anything is stored.

``clean_spec`` takes the REST body's vocabulary (PascalCase, as the API and the SDK send it;
the studio's form maps onto it) and returns model field values, or raises ``InvalidInput``
naming every field that is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import InvalidInput
from pipelines.engine import clean_experiment_name
from pipelines.graph import resolve_parameters

from .timetable import Cron, Recurrence, TimetableError, get_zone

NAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 10_000
CATCH_UP = ("latest", "none")
# Fields of the model that decide when the schedule fires.
TIMING_FIELDS = (
    "frequency",
    "interval",
    "start_time",
    "time_zone",
    "hours",
    "minutes",
    "week_days",
    "cron",
)


def _problem(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def clean_name(name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            "A schedule name needs 1 to 255 characters and no control characters.",
            [_problem("Name", "needs 1 to 255 characters, no control characters")],
        )
    return name


def parse_start_time(value, zone_name: str) -> datetime:
    """``value`` (ISO text or a datetime) as an aware instant; a naive one is wall time in
    ``zone_name``, as the cloud SDK read it."""
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip()) if len(value) <= 64 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise TimetableError("StartTime", "an ISO 8601 date and time, e.g. 2026-12-01T02:30")
        value = parsed
    if not isinstance(value, datetime):
        raise TimetableError("StartTime", "an ISO 8601 date and time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=get_zone(zone_name), fold=0)
    return value.astimezone(UTC).replace(microsecond=0)


def default_start_time() -> datetime:
    """The next whole minute: without a start time a schedule starts counting now."""
    now = timezone.now().astimezone(UTC)
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def timetable_of(fields: dict) -> Recurrence | Cron:
    """The timetable of a schedule's model field values (raises TimetableError)."""
    if fields.get("cron"):
        return Cron(fields["cron"], fields["time_zone"], fields["start_time"])
    return Recurrence(
        fields["frequency"],
        fields["interval"],
        fields["start_time"],
        fields["time_zone"],
        tuple(fields.get("hours") or ()),
        tuple(fields.get("minutes") or ()),
        tuple(fields.get("week_days") or ()),
    )


def _timing(data: dict, current: dict) -> dict:
    """Model timing fields from ``data`` (``Recurrence``, ``Cron``, ``StartTime``,
    ``TimeZone``), falling back to ``current`` for what is absent."""
    fields = {name: current.get(name) for name in TIMING_FIELDS}
    fields["time_zone"] = data.get("TimeZone", current.get("time_zone") or "UTC")
    recurrence, cron = data.get("Recurrence"), data.get("Cron")
    if recurrence is not None and cron:
        raise TimetableError("Cron", "give either Recurrence or Cron, not both")
    if recurrence is not None:
        if not isinstance(recurrence, dict):
            raise TimetableError("Recurrence", "an object with Frequency and Interval")
        fields.update(
            cron="",
            frequency=recurrence.get("Frequency"),
            interval=recurrence.get("Interval", 1),
            hours=list(recurrence.get("Hours") or []),
            minutes=list(recurrence.get("Minutes") or []),
            week_days=list(recurrence.get("WeekDays") or []),
        )
    elif cron:
        fields.update(cron=cron, frequency="", interval=1, hours=[], minutes=[], week_days=[])
    elif not fields.get("cron") and not fields.get("frequency"):
        raise TimetableError("Recurrence", "give a Recurrence or a Cron expression")
    get_zone(fields["time_zone"])
    if "StartTime" in data and data["StartTime"] is not None:
        fields["start_time"] = parse_start_time(data["StartTime"], fields["time_zone"])
    elif fields.get("start_time") is None:
        fields["start_time"] = default_start_time()
    timetable_of(fields)  # the timetable's own checks
    return fields


def clean_spec(data: dict, *, graph: dict, current: dict | None = None) -> dict:
    """Model field values for a new schedule (``current`` None) or for changes to one.

    ``data`` holds the REST body's fields; absent ones keep their ``current`` value.
    ``graph`` is the target's graph, for checking ``ParameterAssignments``. Raises
    ``InvalidInput`` naming every bad field (e.g. ``Recurrence.Interval``, ``TimeZone``).
    """
    current = current or {}
    fields: dict = {}
    problems: list[dict] = []

    def check(field_name, step):
        try:
            step()
        except TimetableError as error:
            problems.append(_problem(error.field, error.message))
        except InvalidInput as error:
            problems.extend(error.details or [_problem(field_name, error.message)])

    if "Name" in data or not current:
        check("Name", lambda: fields.update(name=clean_name(data.get("Name"))))
    if "Description" in data:
        description = data["Description"] or ""
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_LENGTH:
            problems.append(_problem("Description", "text of at most 10000 characters"))
        else:
            fields["description"] = description
    if "ExperimentName" in data or not current:
        experiment = data.get("ExperimentName")
        check(
            "ExperimentName",
            lambda: fields.update(experiment_name=clean_experiment_name(experiment)),
        )
    if "ParameterAssignments" in data or not current:
        assignments = data.get("ParameterAssignments") or {}

        def parameters():
            resolved = resolve_parameters(graph, assignments)
            # Only what was assigned is kept: the others follow the target's defaults.
            fields["parameters"] = {name: resolved[name] for name in assignments}

        check("ParameterAssignments", parameters)
    if "CatchUp" in data:
        if data["CatchUp"] not in CATCH_UP:
            problems.append(_problem("CatchUp", "latest or none"))
        else:
            fields["catch_up"] = data["CatchUp"]
    if not current or any(k in data for k in ("Recurrence", "Cron", "StartTime", "TimeZone")):
        check("Recurrence", lambda: fields.update(_timing(data, current)))
    if problems:
        names = ", ".join(dict.fromkeys(p["field"] for p in problems))
        raise InvalidInput(f"The schedule is not valid: {names}.", problems)
    return fields
