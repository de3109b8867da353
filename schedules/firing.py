"""Firing due schedules: one run per (schedule, slot), whatever runs beside it.

Beat calls :func:`fire_due` every ``STUDIO_SCHEDULER_INTERVAL`` seconds. Each due schedule
is handled in its own transaction that locks the schedule row, claims the slot by inserting
its ``ScheduleFiring`` (the database's unique constraint allows one per slot) and submits
the run in that same transaction. So two beats at once fire a slot once (the second waits
for the lock, then finds the slot taken, or its insert conflicts and it backs off); a beat
that was down fires the latest missed slot once when it is back (catch-up "latest"; with
"none" the missed slot is recorded as skipped); and a broker that is down when the run is
submitted leaves it NotStarted for the engine's dispatcher, which sends it later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import StudioError
from endpoints.models import PipelineEndpoint
from pipelines.engine import submit_published_run
from pipelines.models import PipelineRun

from .models import Schedule, ScheduleFiring

# How late a slot may be fired with catch-up "none": it still counts as on time.
ON_TIME_SECONDS = 60


def _on_time_window() -> timedelta:
    return timedelta(seconds=max(ON_TIME_SECONDS, 3 * settings.STUDIO_SCHEDULER_INTERVAL))


def fire_due(now: datetime | None = None, limit: int = 200) -> int:
    """Fire every due, unpaused schedule; returns how many firings were written."""
    now = now or timezone.now()
    due = (
        Schedule.objects.filter(is_paused=False, next_fire_at__lte=now)
        .order_by("next_fire_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in list(due) if fire(pk, now) is not None)


def fire(schedule_id: int, now: datetime) -> ScheduleFiring | None:
    """Fire the latest slot at or before ``now`` of one schedule, if it is due and not fired
    yet, and plan its next slot. Returns the firing written, or None."""
    with transaction.atomic():
        schedule = (
            Schedule.objects.select_for_update(of=("self",))
            .select_related("workspace", "published_pipeline", "pipeline_endpoint", "created_by")
            .filter(pk=schedule_id)
            .first()
        )
        if schedule is None or schedule.is_paused or schedule.next_fire_at is None:
            return None
        if schedule.next_fire_at > now:
            return None  # another pass fired it already
        timetable = schedule.timetable()
        slot = timetable.latest_at_or_before(now)
        firing = None
        if slot is not None and slot > schedule.fire_after:
            firing = _claim_and_submit(schedule, slot, now)
        schedule.next_fire_at = timetable.next_after(now)
        Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=schedule.next_fire_at)
    return firing


def _claim_and_submit(schedule: Schedule, slot: datetime, now: datetime) -> ScheduleFiring | None:
    reason = ""
    if schedule.catch_up == Schedule.CatchUp.NONE and now - slot > _on_time_window():
        reason = "Missed: the scheduler was not running at that time (catch-up: none)."
    try:
        with transaction.atomic():
            firing = ScheduleFiring.objects.create(schedule=schedule, slot=slot, skip_reason=reason)
            if not reason:
                _submit(schedule, firing)
    except IntegrityError:
        return None  # another pass claimed this slot
    return firing


def _submit(schedule: Schedule, firing: ScheduleFiring) -> None:
    target = schedule.target
    target.workspace = schedule.workspace
    submit = (
        target.submit
        if isinstance(target, PipelineEndpoint)
        else lambda **fields: submit_published_run(target, **fields)
    )
    try:
        with transaction.atomic():
            firing.run = submit(
                experiment_name=schedule.experiment_name,
                parameter_assignments=schedule.parameters,
                by=schedule.created_by,
                run_source=PipelineRun.Source.SCHEDULE,
            )
    except StudioError as refusal:
        # A disabled target (or a default version whose parameters changed): no run, and
        # the schedule fires again at its next slot, so it resumes once the target is fixed.
        firing.skip_reason = f"Skipped: {refusal.message}"
    firing.save(update_fields=["run", "skip_reason"])
