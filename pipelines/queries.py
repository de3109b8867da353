"""What the runs, experiments and published-pipelines pages read: one function per page.

Filters come in already parsed (see :mod:`pipelines.forms`); every function here returns rows
with what their table shows joined or annotated in, never loaded row by row.
"""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, Window
from django.db.models.functions import Greatest, Length, RowNumber, Substr

from studio.models import Membership

from .models import Experiment, PipelineRun, PublishedPipeline, StepRun

# The step panel shows at most this many characters of a log at once (the end of it).
LOG_WINDOW = 256 * 1024
RECENT_RUNS_PER_CHART = 20
# Wide columns a run table never shows: a 20-step graph alone is several kilobytes a row.
LIST_DEFERRED = (
    "graph",
    "parameters",
    "tags",
    "error",
    "description",
    "pipeline_endpoint__description",
    "published_pipeline__graph",
    "published_pipeline__description",
)


def runs_for_listing(workspace, filters: dict | None = None) -> QuerySet[PipelineRun]:
    """Runs of ``workspace`` newest first, narrowed by the Runs page filters.

    ``filters`` keys (all optional): endpoint, published, experiment (ids, name fragments or
    model instances), status, submitted_by (user id or username fragment), created_after,
    created_before (dates).
    """
    runs = PipelineRun.objects.filter(workspace=workspace)
    filters = filters or {}
    for key, field in (
        ("endpoint", "pipeline_endpoint"),
        ("published", "published_pipeline"),
        ("experiment", "experiment"),
    ):
        value = filters.get(key)
        if isinstance(value, int):
            runs = runs.filter(**{f"{field}_id": value})
        elif isinstance(value, str) and value:
            runs = runs.filter(**{f"{field}__name__icontains": value})
        elif value:
            runs = runs.filter(**{field: value})
    if filters.get("status"):
        runs = runs.filter(status=filters["status"])
    if filters.get("version"):
        runs = runs.filter(endpoint_version=filters["version"])
    if isinstance(filters.get("submitted_by"), int):
        runs = runs.filter(submitted_by_id=filters["submitted_by"])
    elif filters.get("submitted_by"):
        who = filters["submitted_by"]
        runs = runs.filter(
            Q(submitted_by__username__icontains=who) | Q(submitted_by_label__icontains=who)
        )
    if filters.get("created_after"):
        runs = runs.filter(created_at__date__gte=filters["created_after"])
    if filters.get("created_before"):
        runs = runs.filter(created_at__date__lte=filters["created_before"])
    return (
        # Who submitted is shown from submitted_by_label: one join fewer to plan.
        runs.select_related("experiment", "pipeline_endpoint", "published_pipeline")
        .defer(*LIST_DEFERRED)
        .order_by("-created_at", "-id")
    )


def recent_runs_by_endpoint(endpoint_ids, per_endpoint: int = RECENT_RUNS_PER_CHART) -> dict:
    """{endpoint id: its last ``per_endpoint`` runs, oldest first}, in one query."""
    if not endpoint_ids:
        return {}
    ranked = (
        PipelineRun.objects.filter(pipeline_endpoint_id__in=list(endpoint_ids))
        .annotate(
            recency=Window(
                RowNumber(),
                partition_by=F("pipeline_endpoint_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(recency__lte=per_endpoint)
        .only("id", "pipeline_endpoint_id", "status", "created_at", "started_at", "finished_at")
        .order_by("pipeline_endpoint_id", "created_at", "id")
    )
    charts: dict = {}
    for run in ranked:
        charts.setdefault(run.pipeline_endpoint_id, []).append(run)
    return charts


def experiments_for_listing(workspace) -> QuerySet[Experiment]:
    """The Experiments table's rows, by name (see :func:`with_run_counts` for its columns)."""
    return Experiment.objects.filter(workspace=workspace).order_by("name", "id")


def run_filter_choices(workspace) -> dict[str, list[tuple[int, str]]]:
    """The Runs filters' pickers: the workspace's endpoints, published pipelines and members
    as (id, label), by name, in three queries."""
    published = PublishedPipeline.objects.filter(workspace=workspace).order_by("name", "version")
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    return {
        "endpoint": list(
            # Through the workspace: pipelines never imports the endpoints app.
            workspace.pipeline_endpoints.order_by("name").values_list("pk", "name")
        ),
        "published": [
            (pk, f"{name} {version}".strip())
            for pk, name, version in published.values_list("pk", "name", "version")
        ],
        "submitted_by": sorted(
            (
                (m.user_id, m.user.get_full_name() or m.user.get_username())
                for m in members.only("user__username", "user__first_name", "user__last_name")
            ),
            key=lambda choice: choice[1].lower(),
        ),
    }


def experiment_names(workspace, limit: int = 500) -> list[str]:
    """Names of the workspace's experiments, for the run form's experiment picker."""
    return list(
        Experiment.objects.filter(workspace=workspace)
        .order_by("name")
        .values_list("name", flat=True)[:limit]
    )


def with_run_counts(experiments: QuerySet[Experiment]) -> QuerySet[Experiment]:
    """``experiments`` with ``run_count`` and ``last_run_at``."""
    runs = PipelineRun.objects.filter(experiment=OuterRef("pk"))
    return experiments.annotate(
        # COUNT(*) lets PostgreSQL count from the index alone.
        run_count=Subquery(
            runs.order_by().values("experiment").annotate(n=Count("*")).values("n")[:1]
        ),
        last_run_at=Subquery(runs.order_by("-created_at").values("created_at")[:1]),
    )


def run_for_page(workspace) -> QuerySet[PipelineRun]:
    """Runs as the run page loads them, with what its header shows."""
    return PipelineRun.objects.filter(workspace=workspace).select_related(
        "experiment", "pipeline_endpoint", "published_pipeline", "submitted_by", "resubmitted_from"
    )


def read_log(step_id: int, offset: int | None = None) -> tuple[str, int, int]:
    """(text, start, size) of a step's log, cut in the database so a big log never travels.

    ``text`` begins at character ``start``: at ``offset`` (new output for a follower), or
    else ``LOG_WINDOW`` characters before the end; ``size`` is the whole log's length. At most
    ``LOG_WINDOW`` characters come back.
    """
    size = Length("log")
    start = Value(offset) if offset is not None else Greatest(size - LOG_WINDOW, Value(0))
    row = (
        StepRun.objects.filter(pk=step_id)
        .annotate(size=size, start=start)
        .annotate(text=Substr("log", F("start") + 1, LOG_WINDOW))
        .values_list("text", "start", "size")
        .first()
    )
    if row is None:
        return "", 0, 0
    text, start_at, total = row
    return text or "", start_at, total or 0


def published_for_listing(workspace, include_disabled: bool = False) -> QuerySet:
    """The "Published pipelines" table, with the endpoints each pipeline is a version of."""
    published = PublishedPipeline.objects.filter(workspace=workspace)
    if not include_disabled:
        published = published.filter(status=PublishedPipeline.Status.ACTIVE)
    # The versions live in the endpoints app, which builds on this one: reached through the
    # reverse relation, not imported.
    versions = PublishedPipeline._meta.get_field("endpoint_versions").related_model
    return (
        published.defer("graph", "description")
        .prefetch_related(
            Prefetch(
                "endpoint_versions",
                queryset=versions.objects.select_related("endpoint").order_by(
                    "endpoint__name", "number"
                ),
            )
        )
        .order_by("-published_at", "-id")
    )
