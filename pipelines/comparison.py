"""Metrics of runs, reused steps included, and runs compared side by side.

A reused step never ran, so it logged nothing: it carries the metrics of the step run it
reused (``StepRun.reused_from``, always the step that really ran). Every page and route that
shows a run's metrics reads them through :func:`metrics_by_run`, so a fully reused run has
the metrics of the runs it reused, marked as reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db.models import F, Q

from .models import Metric, PipelineRun, StepRun

MIN_COMPARED = 2
MAX_COMPARED = 10


class ComparisonError(ValueError):
    """The runs asked for cannot be compared; the message says why."""


@dataclass
class RunMetric:
    """A metric as one run shows it: its own, or carried by a step that reused another."""

    name: str
    kind: str
    value: object
    step_id: int | None  # the step of this run: for a reused step, the one that reused
    step_name: str | None
    reused_from_run_id: int | None  # the run whose step logged it, when reused
    created_at: object = None

    @property
    def is_reused(self) -> bool:
        return self.reused_from_run_id is not None


def _carriers(run_ids, step_id: int | None = None) -> dict[int, list[tuple[int, int, str]]]:
    """{step run reused: [(run id, step id, step name) of each step of ``run_ids`` reusing it]}."""
    # Unordered: the model's ordering would join the runs to sort by their time.
    reusing = StepRun.objects.filter(run_id__in=run_ids, reused_from__isnull=False).order_by()
    if step_id is not None:
        reusing = reusing.filter(pk=step_id)
    carriers: dict[int, list[tuple[int, int, str]]] = {}
    for source_id, *carrier in reusing.values_list("reused_from_id", "run_id", "pk", "name"):
        carriers.setdefault(source_id, []).append(tuple(carrier))
    return carriers


def metrics_by_run(
    run_ids, step_id: int | None = None, names: list[str] | None = None
) -> dict[int, list[RunMetric]]:
    """{run id: its metrics in logging order}, those of reused steps included, in two queries.

    ``step_id`` narrows to one step run of those runs (a reused step: the step it reused);
    ``names`` to the metrics of those names.
    """
    run_ids = list(run_ids)
    return _metrics(run_ids, _carriers(run_ids, step_id), step_id, names)


def metric_columns(run_ids, names: list[str]) -> tuple[dict[int, dict[str, object]], list[str]]:
    """A runs table's metric columns: {run id: {name: folded value}} of the chosen ``names``,
    and the names of every metric the runs have (the columns offered; tags left out), in
    three queries at most; values are read only for the chosen names."""
    run_ids = list(run_ids)
    if not run_ids:
        return {}, []
    carriers = _carriers(run_ids)
    chosen = _metrics(run_ids, carriers, None, names)
    offered = Metric.objects.filter(Q(run_id__in=run_ids) | Q(step_run_id__in=list(carriers)))
    offered = offered.exclude(kind=Metric.Kind.TAG).order_by("name").values_list("name", flat=True)
    folded = {pk: fold_metrics(items) for pk, items in chosen.items()}
    return folded, list(offered.distinct())


def _metrics(run_ids: list[int], carriers: dict, step_id, names) -> dict[int, list[RunMetric]]:
    result: dict[int, list[RunMetric]] = {pk: [] for pk in run_ids}
    if not run_ids or names == []:
        return result
    own = Q(run_id__in=run_ids) if step_id is None else Q(step_run_id=step_id)
    rows = Metric.objects.filter(own | Q(step_run_id__in=list(carriers)))
    if names is not None:
        rows = rows.filter(name__in=names)
    # Plain rows, not model instances: a compare page reads hundreds.
    for run_id, step_run_id, step_name, name, kind, value, created_at in rows.order_by(
        "id"
    ).values_list("run_id", "step_run_id", "step_run__name", "name", "kind", "value", "created_at"):
        metric = (name, kind, value, created_at)
        if run_id in result and (step_id is None or step_run_id == step_id):
            result[run_id].append(_run_metric(metric, (step_run_id, step_name), None))
        for carrier_run, step_pk, carrier_name in carriers.get(step_run_id, ()):
            result[carrier_run].append(_run_metric(metric, (step_pk, carrier_name), run_id))
    return result


def first_metrics(run_id: int, limit: int) -> list[RunMetric]:
    """The first ``limit`` metrics of one run as :func:`metrics_by_run` lists them, in at most
    four queries of at most ``limit`` rows whatever the run's size: a resubmitted run of
    10,000 reused steps carries their metrics without loading every step."""
    # Ordered by an expression, not by id: PostgreSQL would otherwise walk the primary key
    # through every run's metrics to find this run's first ones (the run's index, then a
    # top-N sort of the run's rows, is what is wanted).
    by_id = F("id") + 0
    fields = ("run", "step_run", "name", "kind", "value", "created_at")
    own = list(Metric.objects.filter(run_id=run_id).only(*fields).order_by(by_id)[:limit])
    sources = StepRun.objects.filter(run_id=run_id, reused_from__isnull=False).values(
        "reused_from_id"
    )
    carried = list(
        Metric.objects.filter(step_run_id__in=sources).only(*fields).order_by(by_id)[:limit]
    )
    carriers: dict[int, list[tuple[int, str]]] = {}
    if carried:
        reusing = StepRun.objects.filter(
            run_id=run_id, reused_from_id__in={m.step_run_id for m in carried}
        )
        for source_id, *carrier in reusing.values_list("reused_from_id", "pk", "name"):
            carriers.setdefault(source_id, []).append(tuple(carrier))
    steps = {m.step_run_id for m in own if m.step_run_id}
    named = StepRun.objects.filter(pk__in=steps).order_by().values_list("pk", "name")
    names = dict(named) if steps else {}
    rows = [
        (m.pk, _run_metric(_values(m), (m.step_run_id, names.get(m.step_run_id)), None))
        for m in own
    ]
    rows += [
        (m.pk, _run_metric(_values(m), carrier, m.run_id))
        for m in carried
        for carrier in carriers.get(m.step_run_id, ())
    ]
    rows.sort(key=lambda row: row[0])
    return [metric for _, metric in rows[:limit]]


def _values(metric: Metric) -> tuple:
    return metric.name, metric.kind, metric.value, metric.created_at


def _run_metric(metric: tuple, step: tuple, reused_from_run_id) -> RunMetric:
    name, kind, value, created_at = metric
    return RunMetric(
        name=name,
        kind=kind,
        value=value,
        step_id=step[0],
        step_name=step[1],
        reused_from_run_id=reused_from_run_id,
        created_at=created_at,
    )


def fold_metrics(metrics: list[RunMetric]) -> dict[str, object]:
    """{name: value} as people read a run's metrics: a scalar logged once is its value, logged
    again the list of its values; a list is the list; rows become {column: [values]}. Tags
    are left out (they describe a run, they do not measure it)."""
    folded: dict[str, object] = {}
    counts: dict[str, int] = {}
    for metric in metrics:
        name, value = metric.name, metric.value
        if metric.kind == Metric.Kind.TAG:
            continue
        counts[name] = counts.get(name, 0) + 1
        if metric.kind == Metric.Kind.ROW and isinstance(value, dict):
            table = folded.setdefault(name, {})
            if isinstance(table, dict):
                for column, cell in value.items():
                    table.setdefault(column, []).append(cell)
        elif metric.kind == Metric.Kind.SCALAR and counts[name] > 1:
            previous = folded[name]
            folded[name] = [*previous, value] if counts[name] > 2 else [previous, value]
        else:
            folded[name] = value
    return folded


def last_scalar(value) -> float | None:
    """The number a chart plots for a folded metric: a scalar, or the last of its values."""
    if isinstance(value, list) and value:
        value = value[-1]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def scalar_series(runs: list[PipelineRun]) -> dict[str, list[tuple[PipelineRun, float]]]:
    """{metric name: (run, number) for each of ``runs`` with a number for it}, by name."""
    metrics = metrics_by_run([run.pk for run in runs])
    series: dict[str, list[tuple[PipelineRun, float]]] = {}
    for run in runs:
        for name, value in fold_metrics(metrics[run.pk]).items():
            number = last_scalar(value)
            if number is not None:
                series.setdefault(name, []).append((run, number))
    return dict(sorted(series.items()))


@dataclass
class ComparedRow:
    """One parameter or metric across the compared runs (``None`` where a run has none)."""

    name: str
    values: list
    reused: list[bool] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return len({json.dumps(v, sort_keys=True, default=str) for v in self.values}) > 1

    @property
    def cells(self) -> list[tuple[object, bool]]:
        return list(zip(self.values, self.reused or [False] * len(self.values), strict=True))


@dataclass
class Comparison:
    """Runs side by side: their parameters and metrics, names in order, one row each."""

    runs: list[PipelineRun]
    parameters: list[ComparedRow]
    metrics: list[ComparedRow]

    @property
    def chartable_metrics(self) -> list[str]:
        """Names of the metrics with a number for at least one run."""
        return [
            row.name for row in self.metrics if any(last_scalar(v) is not None for v in row.values)
        ]

    def series(self, name: str) -> list[tuple[PipelineRun, float]]:
        """(run, number) of metric ``name`` for each run that has one, in the runs' order."""
        row = next((row for row in self.metrics if row.name == name), None)
        if row is None:
            return []
        points = [
            (run, last_scalar(value)) for run, value in zip(self.runs, row.values, strict=True)
        ]
        return [(run, value) for run, value in points if value is not None]


def parse_run_ids(raw: str | list[str]) -> list[int]:
    """Run ids from ``"1,2,3"`` (or several such strings), in order, without repeats.

    Raises ``ComparisonError`` when one is not a positive number or there are fewer than two
    or more than ``MAX_COMPARED``.
    """
    parts = raw if isinstance(raw, list) else [raw]
    ids: list[int] = []
    for part in ",".join(parts).split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or len(part) > 18 or int(part) == 0:
            raise ComparisonError(f"“{part[:40]}” is not a run id.")
        if int(part) not in ids:
            ids.append(int(part))
    if not MIN_COMPARED <= len(ids) <= MAX_COMPARED:
        raise ComparisonError(
            f"Choose between {MIN_COMPARED} and {MAX_COMPARED} runs to compare ({len(ids)} chosen)."
        )
    return ids


def compare_runs(workspace, run_ids: list[int]) -> Comparison:
    """The runs ``run_ids`` of ``workspace`` side by side, in the order given.

    Raises ``ComparisonError`` naming the ids that are not runs of this workspace.
    """
    found = (
        PipelineRun.objects.filter(workspace=workspace, pk__in=run_ids)
        .select_related("experiment", "pipeline_endpoint", "published_pipeline")
        .defer("graph", "published_pipeline__graph")
        .in_bulk()
    )
    missing = [str(pk) for pk in run_ids if pk not in found]
    if missing:
        raise ComparisonError(f"No run {', '.join(missing)} in this workspace.")
    runs = [found[pk] for pk in run_ids]
    metrics = metrics_by_run(run_ids)
    folded = {pk: fold_metrics(items) for pk, items in metrics.items()}
    reused_names = {pk: {m.name for m in items if m.is_reused} for pk, items in metrics.items()}
    parameter_names = _names_in_order(run.parameters for run in runs)
    metric_names = _names_in_order(folded[pk] for pk in run_ids)
    return Comparison(
        runs=runs,
        parameters=[
            ComparedRow(name, [run.parameters.get(name) for run in runs])
            for name in parameter_names
        ],
        metrics=[
            ComparedRow(
                name,
                [folded[pk].get(name) for pk in run_ids],
                [name in reused_names[pk] for pk in run_ids],
            )
            for name in metric_names
        ],
    )


def _names_in_order(dicts) -> list[str]:
    names: dict[str, None] = {}
    for values in dicts:
        names.update(dict.fromkeys(values))
    return list(names)
