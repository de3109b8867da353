"""The studio's schedule form: the Submit form's fields plus name, timetable and catch-up.

The form only gathers values; :func:`schedules.spec.clean_spec` checks them (the same rules
as the REST API), and its refusals are shown beside the fields they name.
"""

from __future__ import annotations

from django import forms

from pipelines.forms import FIELDS_OF_DETAILS, RunForm

from .models import Schedule
from .timetable import FREQUENCIES, WEEK_DAYS, zone_names

KINDS = [("recurrence", "Recurrence"), ("cron", "Cron expression")]


def _numbers(text: str) -> list:
    """ "2, 14" → [2, 14]; what is not a number is kept, for the domain to refuse by name."""
    items = [item.strip() for item in (text or "").replace(";", ",").split(",") if item.strip()]
    return [int(item) if item.isdigit() else item for item in items]


class ScheduleForm(RunForm):
    """Create or edit a schedule of a target whose graph is ``graph``."""

    fields_of_details = {
        **FIELDS_OF_DETAILS,
        "Name": "name",
        "Description": "description",
        "Recurrence": "frequency",
        "Recurrence.Frequency": "frequency",
        "Recurrence.Interval": "interval",
        "Recurrence.Hours": "hours",
        "Recurrence.Minutes": "minutes",
        "Recurrence.WeekDays": "week_days",
        "Cron": "cron",
        "StartTime": "start_time",
        "TimeZone": "time_zone",
        "CatchUp": "catch_up",
    }

    tags = None  # runs of a schedule carry none
    name = forms.CharField(label="Name", max_length=255)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    kind = forms.ChoiceField(
        label="Fires on", choices=KINDS, initial="recurrence", widget=forms.RadioSelect
    )
    frequency = forms.ChoiceField(
        label="Every", choices=[(f, f) for f in FREQUENCIES], initial="Day", required=False
    )
    interval = forms.IntegerField(label="Interval", initial=1, required=False)
    hours = forms.CharField(
        label="Hours", required=False, help_text="Day and Week: e.g. 2 or 2, 14"
    )
    minutes = forms.CharField(label="Minutes", required=False, help_text="e.g. 30")
    week_days = forms.MultipleChoiceField(
        label="Week days",
        choices=[(d, d) for d in WEEK_DAYS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cron = forms.CharField(
        label="Cron expression",
        required=False,
        max_length=120,
        help_text="minute hour day-of-month month day-of-week, e.g. 30 2 * * 1-5",
    )
    start_time = forms.CharField(
        label="Start time",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Wall time in the time zone; empty: the next whole minute",
    )
    time_zone = forms.ChoiceField(label="Time zone", initial="UTC")
    catch_up = forms.ChoiceField(
        label="Missed slots", choices=Schedule.CatchUp.choices, initial="latest"
    )

    field_order = ["name", "description", "experiment_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in zone_names()]
        if not self.is_bound and "time_zone" not in self.initial:
            # A new schedule: the browser puts its own zone in place of UTC (studio.js).
            self.fields["time_zone"].widget.attrs["data-browser-zone"] = ""

    def spec(self) -> dict:
        """The REST body's fields for ``Schedule.create``/``update`` (call once valid)."""
        data = self.cleaned_data
        body = {
            "Name": data["name"],
            "Description": data["description"],
            "ExperimentName": data["experiment_name"],
            "ParameterAssignments": self.assignments,
            "TimeZone": data["time_zone"],
            "CatchUp": data["catch_up"],
            "StartTime": data["start_time"] or None,
        }
        if data["kind"] == "cron":
            body["Cron"] = data["cron"]
        else:
            body["Recurrence"] = {
                "Frequency": data["frequency"],
                "Interval": data["interval"] if data["interval"] is not None else 1,
                "Hours": _numbers(data["hours"]),
                "Minutes": _numbers(data["minutes"]),
                "WeekDays": data["week_days"],
            }
        return body

    @staticmethod
    def initial_of(schedule: Schedule) -> dict:
        """The form's initial values for editing ``schedule``."""
        local = schedule.start_time.astimezone(schedule.timetable().zone)
        initial = {
            "name": schedule.name,
            "description": schedule.description,
            "experiment_name": schedule.experiment_name,
            "kind": "cron" if schedule.cron else "recurrence",
            "frequency": schedule.frequency or "Day",
            "interval": schedule.interval,
            "hours": ", ".join(str(h) for h in schedule.hours),
            "minutes": ", ".join(str(m) for m in schedule.minutes),
            "week_days": schedule.week_days,
            "cron": schedule.cron,
            "start_time": local.strftime("%Y-%m-%dT%H:%M"),
            "time_zone": schedule.time_zone,
            "catch_up": schedule.catch_up,
        }
        for name, value in schedule.parameters.items():
            initial[f"p_{name}"] = value
        return initial
