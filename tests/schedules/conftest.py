"""Schedules for the tests: ``make_schedule(target, **REST fields)`` as the contributor."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from schedules.models import Schedule


def whole_minute_ahead(minutes: int = 1) -> datetime:
    now = timezone.now().astimezone(UTC).replace(second=0, microsecond=0)
    return now + timedelta(minutes=minutes)


@pytest.fixture
def make_schedule(team):
    def make(target, by=None, **data):
        data.setdefault("Name", f"Every minute {Schedule.objects.count()}")
        data.setdefault("ExperimentName", "Scheduled")
        if "Cron" not in data:
            data.setdefault("Recurrence", {"Frequency": "Minute", "Interval": 1})
        data.setdefault("StartTime", whole_minute_ahead().isoformat())
        return Schedule.create(team.workspace, target, data, by=by or team.contributor)

    return make
