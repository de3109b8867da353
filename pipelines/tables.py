"""Runs tables (Runs, an endpoint's Runs tab, an experiment, a published pipeline): parameter
and metric columns chosen in the query string (``params=rate&metrics=accuracy``), sorting by any
column (``sort=-metric:accuracy``), one page of rows in a fixed number of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.paginator import Page
from django.db.models import Exists, F, OuterRef, QuerySet

from core.pagination import page_of

from .comparison import metric_columns
from .models import PipelineRun, RunMetricValue
from .queries import LIST_DEFERRED

MAX_COLUMNS = 8
# Parameter and metric names as the SDK and step scripts write them; others are ignored.
COLUMN_NAME = re.compile(r"^[\w.\-]{1,100}$")
SORT = re.compile(r"^(-?)(created|duration|param:[\w.\-]{1,100}|metric:[\w.\-]{1,100})$")
DEFAULT_SORT = "-created"
# The query string keys the table itself owns; the others are the page's filters.
TABLE_KEYS = ("params", "metrics", "sort", "page")


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


class MetricOrder:
    """Runs in the order of a metric, as the paginator pages them: first the runs with a
    number for it, by that number (read in order from ``RunMetricValue``'s index, so a page
    costs the same with 100 or 100,000 runs), then the others, newest first.

    Ties keep newest first (by id, which the index holds too: a tie of thousands of runs
    is read in order, not sorted). The paginator counts ``counted`` (all the runs,
    unordered); a slice is one query, two where the page straddles the runs with and
    without a value.
    """

    def __init__(self, runs: QuerySet[PipelineRun], workspace, name: str, descending: bool):
        self.counted = runs
        value, run = F("metric_values__value"), F("metric_values__run")
        # Ordered by the index's own columns (the run id as that table holds it too), so
        # SQLite as well as PostgreSQL reads the index in order.
        self.valued = runs.filter(
            metric_values__workspace=workspace,
            metric_values__name=name,
            metric_values__value__isnull=False,
        ).order_by(value.desc() if descending else value.asc(), run.desc())
        has_value = RunMetricValue.objects.filter(
            run=OuterRef("pk"), name=name, value__isnull=False
        )
        self.others = runs.filter(~Exists(has_value)).order_by("-created_at", "-id")

    def __getitem__(self, rows: slice) -> list[PipelineRun]:
        start, stop = rows.start or 0, rows.stop
        found = list(self.valued[start:stop])
        if len(found) == stop - start:
            return found
        # Past the last run with a value: how many there are, to start the others' rows.
        valued = start + len(found) if found else self.valued.order_by().count()
        skip = max(0, start - valued)
        return found + list(self.others[skip : skip + stop - start - len(found)])


def sorted_runs(runs: QuerySet[PipelineRun], sort: str, workspace=None):
    """``runs`` in the order ``sort`` names (see ``SORT``); unknown sorts keep newest first.

    Sorting by a metric (runs of ``workspace``) gives a :class:`MetricOrder` to page through.
    """
    match = SORT.match(sort or "")
    if not match or sort == DEFAULT_SORT:
        return runs
    descending, key = match.group(1) == "-", match.group(2)
    if key.startswith("metric:"):
        return MetricOrder(runs, workspace, key[7:], descending)
    if key == "created":
        expression = F("created_at")
    elif key == "duration":
        runs = runs.alias(run_duration=F("finished_at") - F("started_at"))
        expression = F("run_duration")
    else:
        runs = runs.alias(sort_value=F(f"parameters__{key[6:]}"))
        expression = F("sort_value")
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return runs.order_by(ordered, "-created_at", "-id")


def run_table(request, runs: QuerySet[PipelineRun], page_keys: tuple[str, ...] = ()) -> RunTable:
    """One page of ``runs`` as the query string asks: columns, sort, page.

    ``page_keys`` name the page's own controls that belong to the table's form (``form=
    "table-options"``, such as the experiment chart's metric): the form sends their current
    value, so they are not kept as hidden copies of the query string.
    """
    params = _chosen(request.GET.getlist("params"))
    metrics = _chosen(request.GET.getlist("metrics"))
    sort = request.GET.get("sort", "")
    sort = sort if SORT.match(sort) else DEFAULT_SORT
    # The table shows parameters (small) but none of the other wide columns.
    runs = runs.defer(None).defer(*(f for f in LIST_DEFERRED if f != "parameters"))
    page = page_of(sorted_runs(runs, sort, request.workspace), request.GET.get("page"))
    listed = list(page.object_list)
    folded, metric_names = metric_columns([run.pk for run in listed], metrics)
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
    return RunTable(
        page=page,
        sort=sort,
        params=params,
        metrics=metrics,
        columns=columns,
        rows=rows,
        param_choices=sorted(param_names | set(params)),
        metric_choices=sorted(set(metric_names) | set(metrics)),
        kept=[
            (key, value)
            for key, values in request.GET.lists()
            if key not in TABLE_KEYS and key not in page_keys
            for value in values
        ],
    )
