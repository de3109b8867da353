"""Runs tables (Runs, an endpoint's Runs tab, an experiment, a published pipeline): parameter
and metric columns chosen in the query string (``params=rate&metrics=accuracy``), sorting by any
column (``sort=-metric:accuracy``), one page of rows in a fixed number of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.paginator import Page
from django.db.models import F, Func, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from core.pagination import page_of

from .comparison import fold_metrics, metrics_by_run
from .models import Metric, PipelineRun, StepRun
from .queries import LIST_DEFERRED

MAX_COLUMNS = 8
# Parameter and metric names as the SDK and step scripts write them; others are ignored.
COLUMN_NAME = re.compile(r"^[\w.\-]{1,100}$")
SORT = re.compile(r"^(-?)(created|duration|param:[\w.\-]{1,100}|metric:[\w.\-]{1,100})$")
DEFAULT_SORT = "-created"
# The query string keys the table itself owns; the others are the page's filters.
TABLE_KEYS = ("params", "metrics", "sort", "page")


class JsonValue(Func):
    """A stored JSON document as SQL orders it by value: jsonb orders numbers as numbers on
    PostgreSQL; SQLite keeps JSON as text ("10" < "9"), so its value is read out with
    json_extract. (A parameter's key transform already reads the value on both.)"""

    output_field = JSONField()

    def as_sql(self, compiler, conn, **extra):
        if conn.vendor == "sqlite":
            return super().as_sql(compiler, conn, template="json_extract(%(expressions)s, '$')")
        return compiler.compile(self.source_expressions[0])


@dataclass
class Column:
    """A sortable column: its label, its sort key, and the direction it is sorted in now."""

    label: str
    key: str
    direction: str = ""  # "asc", "desc" or "" (not the sort column)
    kind: str = ""  # "param", "metric" or ""

    @property
    def next_sort(self) -> str:
        """The ``sort`` value a click on the header asks for."""
        default_desc = self.key in ("created", "duration") or self.kind == "metric"
        if self.direction == "desc" or (not self.direction and not default_desc):
            return self.key
        return f"-{self.key}"

    @property
    def aria_sort(self) -> str:
        return {"asc": "ascending", "desc": "descending"}.get(self.direction, "none")


@dataclass
class RunTable:
    """What a runs table shows: a page of rows with their chosen column values."""

    page: Page
    sort: str
    params: list[str]
    metrics: list[str]
    columns: dict[str, Column]
    rows: list[tuple[PipelineRun, list, list]] = field(default_factory=list)
    param_choices: list[str] = field(default_factory=list)
    metric_choices: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # the page's filters


def _chosen(values: list[str]) -> list[str]:
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if COLUMN_NAME.match(name) and name not in names:
                names.append(name)
    return names[:MAX_COLUMNS]


def metric_value(name: str) -> Subquery:
    """The last value a run logged for scalar metric ``name``, or the one its reused step
    carries (the metric of the step run it reused)."""
    scalars = Metric.objects.filter(name=name, kind=Metric.Kind.SCALAR).order_by("-id")
    own = scalars.filter(run=OuterRef("pk"))
    reused = scalars.filter(
        step_run__in=StepRun.objects.filter(
            run=OuterRef(OuterRef("pk")), reused_from__isnull=False
        ).values("reused_from")
    )
    return Coalesce(
        Subquery(own.values("value")[:1]),
        Subquery(reused.values("value")[:1]),
        output_field=JSONField(),
    )


def sorted_runs(runs: QuerySet[PipelineRun], sort: str) -> QuerySet[PipelineRun]:
    """``runs`` in the order ``sort`` names (see ``SORT``); unknown sorts keep newest first."""
    match = SORT.match(sort or "")
    if not match or sort == DEFAULT_SORT:
        return runs
    descending, key = match.group(1) == "-", match.group(2)
    if key == "created":
        expression = F("created_at")
    elif key == "duration":
        runs = runs.alias(run_duration=F("finished_at") - F("started_at"))
        expression = F("run_duration")
    elif key.startswith("param:"):
        runs = runs.alias(sort_value=F(f"parameters__{key[6:]}"))
        expression = F("sort_value")
    else:
        runs = runs.alias(sort_value=JsonValue(metric_value(key[7:])))
        expression = F("sort_value")
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return runs.order_by(ordered, "-created_at", "-id")


def run_table(request, runs: QuerySet[PipelineRun]) -> RunTable:
    """One page of ``runs`` as the query string asks: columns, sort, page."""
    params = _chosen(request.GET.getlist("params"))
    metrics = _chosen(request.GET.getlist("metrics"))
    sort = request.GET.get("sort", "")
    sort = sort if SORT.match(sort) else DEFAULT_SORT
    # The table shows parameters (small) but none of the other wide columns.
    runs = runs.defer(None).defer(*(f for f in LIST_DEFERRED if f != "parameters"))
    page = page_of(sorted_runs(runs, sort), request.GET.get("page"))
    listed = list(page.object_list)
    folded = {pk: fold_metrics(items) for pk, items in metrics_by_run(r.pk for r in listed).items()}
    rows = [
        (
            run,
            [run.parameters.get(name) for name in params],
            [folded[run.pk].get(name) for name in metrics],
        )
        for run in listed
    ]
    columns = {
        "created": Column("Submitted", "created"),
        "duration": Column("Duration", "duration"),
    }
    columns.update({f"param:{n}": Column(n, f"param:{n}", kind="param") for n in params})
    columns.update({f"metric:{n}": Column(n, f"metric:{n}", kind="metric") for n in metrics})
    key = sort.lstrip("-")
    if key in columns:
        columns[key].direction = "desc" if sort.startswith("-") else "asc"
    param_names = {name for run in listed for name in (run.parameters or {})}
    metric_names = {name for values in folded.values() for name in values}
    return RunTable(
        page=page,
        sort=sort,
        params=params,
        metrics=metrics,
        columns=columns,
        rows=rows,
        param_choices=sorted(param_names | set(params)),
        metric_choices=sorted(metric_names | set(metrics)),
        kept=[
            (key, value)
            for key, values in request.GET.lists()
            if key not in TABLE_KEYS
            for value in values
        ],
    )
