"""Celery task of the schedules: a thin wrapper called by beat."""

from celery import shared_task

from . import firing


@shared_task(name="schedules.tasks.fire_due_schedules")
def fire_due_schedules() -> int:
    """Fire the due slots of every unpaused schedule (beat schedule); safe to run twice."""
    return firing.fire_due()
