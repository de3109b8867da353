"""What each endpoints page reads: one function per page, a fixed number of queries each.

Rows are annotated with what their table shows (default version, last run) through
subqueries instead of per-row queries, so the query count does not grow with the rows.
"""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from pipelines.models import PipelineRun

from .models import PipelineEndpoint, PipelineEndpointVersion

ENDPOINT_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "last_run": (F("last_run_sort").asc(nulls_first=True), "name"),
    "-last_run": (F("last_run_sort").desc(nulls_last=True), "name"),
    "updated": ("updated_at", "name"),
    "-updated": ("-updated_at", "name"),
}


def endpoints_for_listing(
    workspace, search: str = "", include_disabled: bool = False, sort: str = "name"
) -> QuerySet[PipelineEndpoint]:
    """The "Pipeline endpoints" table's rows; ``search`` looks in name and description,
    disabled endpoints only with ``include_disabled``, in an ``ENDPOINT_SORTS`` order.

    Its columns come from :func:`with_default_and_last_run`, for one page at a time.
    """
    endpoints = PipelineEndpoint.objects.filter(workspace=workspace)
    if not include_disabled:
        endpoints = endpoints.filter(status=PipelineEndpoint.Status.ACTIVE)
    if search:
        endpoints = endpoints.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if sort.lstrip("-") == "last_run":
        last_run = PipelineRun.objects.filter(pipeline_endpoint=OuterRef("pk")).order_by(
            "-created_at"
        )
        endpoints = endpoints.alias(last_run_sort=Subquery(last_run.values("created_at")[:1]))
    return endpoints.order_by(*ENDPOINT_SORTS.get(sort, ENDPOINT_SORTS["name"]))


def endpoint_runs(workspace) -> QuerySet[PipelineRun]:
    """The runs of the workspace's endpoints: what the endpoint list's "Last run" follows."""
    return PipelineRun.objects.filter(workspace=workspace, pipeline_endpoint__isnull=False)


def with_default_and_last_run(endpoints: QuerySet) -> QuerySet[PipelineEndpoint]:
    """``endpoints`` with ``default_version``, ``default_status`` (of the default version's
    published pipeline), ``last_run_status`` and ``last_run_at``."""
    last_run = PipelineRun.objects.filter(pipeline_endpoint=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    default = PipelineEndpointVersion.objects.filter(endpoint=OuterRef("pk"), is_default=True)
    return endpoints.annotate(
        default_version=Subquery(default.values("number")[:1]),
        default_status=Subquery(default.values("published_pipeline__status")[:1]),
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
