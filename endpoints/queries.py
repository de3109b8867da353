"""What each endpoints page reads: one function per page, a fixed number of queries each.

Rows are annotated with what their table shows (default version, last run) through
subqueries instead of per-row queries, so the query count does not grow with the rows.
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from pipelines.models import PipelineRun

from .models import PipelineEndpoint, PipelineEndpointVersion


def endpoints_for_listing(workspace, search: str = "") -> QuerySet[PipelineEndpoint]:
    """The "Pipeline endpoints" table's rows, by name; ``search`` looks in name and description.

    Its columns come from :func:`with_default_and_last_run`, for one page at a time.
    """
    endpoints = PipelineEndpoint.objects.filter(workspace=workspace)
    if search:
        endpoints = endpoints.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return endpoints.order_by("name", "id")


def with_default_and_last_run(endpoints: QuerySet) -> QuerySet[PipelineEndpoint]:
    """``endpoints`` with ``default_version``, ``last_run_status`` and ``last_run_at``."""
    last_run = PipelineRun.objects.filter(pipeline_endpoint=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    default = PipelineEndpointVersion.objects.filter(endpoint=OuterRef("pk"), is_default=True)
    return endpoints.annotate(
        default_version=Subquery(default.values("number")[:1]),
        last_run_status=Subquery(last_run.values("status")[:1]),
        last_run_at=Subquery(last_run.values("created_at")[:1]),
    )


def versions_for_endpoint(endpoint) -> list[PipelineEndpointVersion]:
    """The endpoint's versions in order, each with its published pipeline and who added it."""
    return list(
        endpoint.versions.select_related("published_pipeline", "added_by").order_by("number")
    )


def last_run_of(endpoint) -> PipelineRun | None:
    """The endpoint's latest run (for the Overview tab), or None."""
    return (
        PipelineRun.objects.filter(pipeline_endpoint=endpoint)
        .order_by("-created_at", "-id")
        .only("id", "status", "created_at")
        .first()
    )
