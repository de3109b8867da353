"""What the schedules pages and routes read: a fixed number of queries per list."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from pipelines.models import PipelineRun

from .models import Schedule, ScheduleFiring


def schedules_for_listing(workspace, *, published=None, endpoint=None) -> QuerySet[Schedule]:
    """Schedules of ``workspace`` (or of one target) by name, with their target and
    ``last_run_id``, ``last_run_status``, ``last_run_at`` of the latest run they started."""
    schedules = Schedule.objects.filter(workspace=workspace)
    if published is not None:
        schedules = schedules.filter(published_pipeline=published)
    if endpoint is not None:
        schedules = schedules.filter(pipeline_endpoint=endpoint)
    last = ScheduleFiring.objects.filter(schedule=OuterRef("pk"), run__isnull=False).order_by(
        "-slot"
    )
    return (
        schedules.select_related("published_pipeline", "pipeline_endpoint", "created_by")
        .annotate(
            last_run_id=Subquery(last.values("run_id")[:1]),
            last_run_status=Subquery(last.values("run__status")[:1]),
            last_run_at=Subquery(last.values("run__created_at")[:1]),
        )
        .order_by("name", "id")
    )


def runs_of(schedule: Schedule) -> QuerySet[PipelineRun]:
    """The runs ``schedule`` started, newest first, with their experiment."""
    return (
        PipelineRun.objects.filter(schedule_firing__schedule=schedule)
        .select_related("experiment")
        .order_by("-created_at", "-id")
    )


def firings_of(schedule: Schedule, limit: int = 20) -> list[ScheduleFiring]:
    """The latest firings of ``schedule`` (runs started and slots skipped), newest first."""
    return list(schedule.firings.select_related("run").order_by("-slot")[:limit])
