"""What the run page shows, in a number of queries that does not grow with the run's steps.

A run may have 10,000 steps (the copies of a fan-out, or a wide graph). The page therefore:

- keeps the graph's layout (:func:`pipelines.graph_svg.layout_graph`) in the cache, as a run's
  graph never changes and a 10,000-step graph document is megabytes to load and parse; the
  drawing is then a few dozen nodes (groups and levels, see :mod:`pipelines.graph_svg`);
- reads each step's id, name, status and reuse in one narrow query, from which come the
  graph's colours and counts, the step shown by default and the steps list's filters, counts
  and page;
- shows the steps list a page at a time (``STEPS_PER_PAGE``), filtered by status and by group,
  reading only that page's rows in full.

The live refresh sends the same bounded fragment, never a row per step.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from itertools import compress

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.http import QueryDict

from .comparison import RunMetric, first_metrics
from .graph_svg import (
    GraphLayout,
    NodeState,
    StepState,
    layout_graph,
    render_layout_svg,
    status_summary,
)
from .models import PipelineRun, RunStatus, StepRun

STEPS_PER_PAGE = 50
SHOWN_METRICS = 200
GROUPS_LISTED = 100  # groups offered in the steps list's picker (a chosen one always is)
MAX_FILTER = 128  # longest group name (pipelines.graph.NAME_PATTERN); longer never matches
LAYOUT_SECONDS = 24 * 3600


class StepsPaginator(Paginator):
    """Pages of the steps list, a list already in memory (``_pagination.html`` shows its
    count as "10,000")."""

    is_capped = False

    @property
    def count_label(self) -> str:
        return f"{self.count:,}"


@dataclass
class RunLayout:
    """A run's graph layout, with its steps found by ``StepRun.position``: each request
    reads positions (numbers), not names, and looks them up in two arrays."""

    graph: GraphLayout  # without its by-name maps, which the arrays replace
    node_at: array  # the node of the step at each position (-1: not in the graph)
    group_at: array  # the index in ``group_names`` of each position's group (-1: none)
    group_names: list[str]
    single_at: dict[int, int]  # position: node, for the nodes that are one step

    def node(self, position: int) -> int:
        return self.node_at[position] if position < len(self.node_at) else -1

    def group(self, position: int) -> str:
        index = self.group_at[position] if position < len(self.group_at) else -1
        return self.group_names[index] if index >= 0 else ""


def run_layout(run: PipelineRun) -> RunLayout:
    """The layout of the run's graph, from the cache, else computed from the stored graph and
    the positions of the run's steps (two queries, once per run and process).

    The key holds the run's creation time as well as its id, so a database whose ids start
    again (a test database) never meets another run's layout.
    """
    key = f"studio:run-layout:{run.pk}:{run.created_at.timestamp()}"
    layout = cache.get(key)
    if layout is None:
        layout = _run_layout(run)
        cache.set(key, layout, LAYOUT_SECONDS)
    return layout


def _run_layout(run: PipelineRun) -> RunLayout:
    drawn = layout_graph(run.graph_document())
    positions = list(StepRun.objects.filter(run=run).order_by().values_list("name", "position"))
    size = max((position for _, position in positions), default=-1) + 1
    node_at, group_at = array("i", [-1]) * size, array("i", [-1]) * size
    group_names = list(drawn.groups)
    group_index = {name: index for index, name in enumerate(group_names)}
    single_at = {}
    for name, position in positions:
        node = drawn.node_of.get(name, -1)
        node_at[position] = node
        group_at[position] = group_index.get(drawn.group_of.get(name, ""), -1)
        if node >= 0 and drawn.nodes[node].kind == "step":
            single_at[position] = node
    drawn.node_of, drawn.group_of = {}, {}
    return RunLayout(drawn, node_at, group_at, group_names, single_at)


@dataclass
class StepFilters:
    """The steps list's filters as asked in the query string (unknown statuses are ignored)."""

    status: str = ""
    group: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> StepFilters:
        status = query.get("status", "")
        return cls(
            status=status if status in RunStatus.values else "",
            group=query.get("group", "")[: MAX_FILTER + 1],
        )


@dataclass
class RunPage:
    """Everything the run page's live part shows (see the module's docstring)."""

    run: PipelineRun
    layout: GraphLayout
    filters: StepFilters
    selected_id: int | None
    graph_svg: str
    steps_page: Page
    total: int  # steps of the run
    status_counts: list[tuple[str, str, int]]  # (status, label, count) within the group filter
    run_counts: list[tuple[str, str, int]]  # (status, label, count) of the whole run
    groups: list[tuple[str, int]] = field(default_factory=list)
    metrics: list[RunMetric] = field(default_factory=list)

    @property
    def unknown_group(self) -> bool:
        return bool(self.filters.group) and self.filters.group not in self.layout.groups

    def context(self) -> dict:
        return {
            "layout": self.layout,
            "graph_svg": self.graph_svg,
            "steps_page": self.steps_page,
            "steps_total": self.total,
            "status_counts": self.status_counts,
            "run_counts": self.run_counts,
            "step_filters": self.filters,
            "unknown_group": self.unknown_group,
            "groups": self.groups,
            "metrics": self.metrics,
            "metrics_cut": len(self.metrics) >= SHOWN_METRICS,
        }


def _query(query: QueryDict, **changes) -> str:
    """``query`` with ``changes`` (None removes a key), as ``?…`` for a link."""
    changed = query.copy()
    for key, value in changes.items():
        changed.pop(key, None)
        if value is not None:
            changed[key] = str(value)
    return "?" + changed.urlencode() if changed else "?"


def _selected(rows: list[tuple], statuses: tuple, wanted: str | None) -> int | None:
    """The step the page shows: the one asked for, else a failed or running one, else the
    first (``rows`` in graph order)."""
    if wanted and wanted.isdigit() and any(row[0] == int(wanted) for row in rows):
        return int(wanted)
    for status in (RunStatus.FAILED, RunStatus.RUNNING):
        if status in statuses:
            return rows[statuses.index(status)][0]
    return rows[0][0] if rows else None


def _node_states(layout: RunLayout, rows: list[tuple], query: QueryDict, selected, group):
    """How each node is drawn: single steps by their row, the others by counts (counted in
    C: a run of 10,000 steps costs no Python loop per step here)."""
    states: dict[int, StepState | NodeState] = {}
    positions: tuple = ()
    if rows:
        _, positions, statuses, reused = zip(*rows, strict=True)
        node_at = layout.node_at
        if max(positions) < len(node_at):
            nodes = list(map(node_at.__getitem__, positions))
        else:  # a step row the layout does not know (never for a submitted run)
            nodes = [layout.node(position) for position in positions]
        for (node, status), count in Counter(zip(nodes, statuses, strict=True)).items():
            if node >= 0 and layout.graph.nodes[node].kind != "step":
                states.setdefault(node, NodeState()).counts[status] = count
        reused_nodes = Counter(compress(nodes, [r is not None for r in reused]))
        for node, count in reused_nodes.items():
            if isinstance(states.get(node), NodeState):
                states[node].reused = count
    for position, node in layout.single_at.items():
        # Rows come by position, so row ``position`` is usually the one.
        at = position if position < len(rows) and rows[position][1] == position else None
        if at is None and position in positions:
            at = positions.index(position)
        if at is None:
            continue
        pk, _, status, reused_from = rows[at]
        states[node] = StepState(
            status=status,
            status_label=RunStatus(status).label,
            reused=reused_from is not None,
            href=_query(query, step=pk) + "#step-panel",
            selected=pk == selected,
        )
    for index, node in enumerate(layout.graph.nodes):
        if node.kind == "group":
            state = states.setdefault(index, NodeState())
            state.href = _query(query, group=node.label, page=None) + "#steps"
            state.selected = node.label == group
    return states


def run_page(run: PipelineRun, query: QueryDict) -> RunPage:
    """The run page of ``run`` as asked by ``query`` (``step``, ``status``, ``group``,
    ``page``): a fixed number of queries, two more when the layout is not in the cache."""
    layout = run_layout(run)
    rows = list(
        StepRun.objects.filter(run=run)
        .order_by("position", "id")
        .values_list("pk", "position", "status", "reused_from_id")
    )
    statuses = tuple(row[2] for row in rows)
    filters = StepFilters.from_query(query)
    selected = _selected(rows, statuses, query.get("step"))
    states = _node_states(layout, rows, query, selected, filters.group)
    in_group = rows
    if filters.group:
        names = layout.group_names
        wanted = names.index(filters.group) if filters.group in names else -2
        group_at, size = layout.group_at, len(layout.group_at)
        in_group = [row for row in rows if row[1] < size and group_at[row[1]] == wanted]
    counts = Counter(row[2] for row in in_group) if filters.group else Counter(statuses)
    if filters.status and not counts.get(filters.status):
        counts[filters.status] = 0
    chosen = in_group
    if filters.status:
        chosen = [row for row in in_group if row[2] == filters.status]
    page = StepsPaginator(chosen, STEPS_PER_PAGE).get_page(query.get("page"))
    ids = [row[0] for row in page.object_list]
    full = StepRun.objects.only(
        "id", "run_id", "name", "position", "status", "reused_from_id", "started_at", "finished_at"
    ).in_bulk(ids)
    page.object_list = [full[pk] for pk in ids if pk in full]
    for step in page.object_list:
        step.group = layout.group(step.position)
    groups = list(layout.graph.groups.items())[:GROUPS_LISTED]
    if filters.group in layout.graph.groups and filters.group not in dict(groups):
        groups.append((filters.group, layout.graph.groups[filters.group]))
    return RunPage(
        run=run,
        layout=layout.graph,
        filters=filters,
        selected_id=selected,
        graph_svg=render_layout_svg(layout.graph, states),
        steps_page=page,
        total=len(rows),
        status_counts=[
            (status, label, count)
            for status, label, count in _all_statuses(counts)
            if count or status == filters.status
        ],
        run_counts=status_summary(Counter(statuses)),
        groups=groups,
        metrics=first_metrics(run.pk, SHOWN_METRICS),
    )


def _all_statuses(counts: Counter) -> list[tuple[str, str, int]]:
    summary = status_summary(counts)
    shown = {status for status, _, _ in summary}
    return summary + [
        (status, RunStatus(status).label, 0) for status in counts if status not in shown
    ]
