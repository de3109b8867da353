"""Server-rendered SVG of a pipeline graph: steps left to right by dependency depth.

The drawing stays small whatever the size of the graph:

- steps that share a ``group`` (the copies of an SDK fan-out) are one node, with their count
  and a bar of how many are in each status;
- a graph of more than ``DRAWN_NODES`` nodes even so is drawn by level: one node per
  dependency depth, and past ``DRAWN_COLUMNS`` depths consecutive depths share a node. A run of
  10,000 steps draws a few dozen nodes, never 10,000.

:func:`layout_graph` does the graph work once (a run's graph never changes, so the run page
keeps the layout in the cache) and :func:`render_layout_svg` draws it with the statuses of the
moment. Every piece of text (step and group names, statuses) goes through ``format_html``, so a
step called ``<script>`` is drawn as those characters and never becomes markup.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .graph import upstream_steps
from .models import RunStatus

NODE_WIDTH = 190
NODE_HEIGHT = 50
GAP_X = 56
GAP_Y = 18
MARGIN = 8
MAX_LABEL = 24
# Past this many nodes (steps, and groups counted once) the graph is drawn by level.
DRAWN_NODES = 200
# Past this many levels, consecutive levels share a node.
DRAWN_COLUMNS = 30
STACK = 4  # how far the cards behind a group node stick out
# A node of several steps takes the colour of the first of these its steps are in.
STATUS_PRIORITY = (
    RunStatus.FAILED,
    RunStatus.RUNNING,
    RunStatus.CANCELING,
    RunStatus.QUEUED,
    RunStatus.NOT_STARTED,
    RunStatus.CANCELED,
    RunStatus.FINISHED,
)
# The order of a node's status bar and counts: done first, then what is left.
STATUS_BAR = (
    RunStatus.FINISHED,
    RunStatus.FAILED,
    RunStatus.CANCELED,
    RunStatus.CANCELING,
    RunStatus.RUNNING,
    RunStatus.QUEUED,
    RunStatus.NOT_STARTED,
)


@dataclass(frozen=True)
class StepState:
    """How one step is drawn: its status, whether it was reused, and where clicking leads."""

    status: str = ""
    status_label: str = ""
    reused: bool = False
    href: str = ""
    selected: bool = False


@dataclass
class NodeState:
    """How one node of several steps is drawn: how many of them are in each status."""

    counts: dict[str, int] = field(default_factory=dict)
    reused: int = 0
    href: str = ""
    selected: bool = False


@dataclass
class Node:
    """One box of the drawing: a step, a group of steps, or the steps of some levels."""

    kind: str  # "step", "group" or "levels"
    label: str  # the step's or group's name; "Level 3" or "Levels 1–40"
    size: int  # how many steps it stands for
    column: int
    row: int = 0

    @property
    def key(self) -> str:
        return self.label if self.kind == "step" else f"{self.kind}:{self.label}"


@dataclass
class GraphLayout:
    """Where each node of a graph goes; ``node_of`` maps each step name to its node's index."""

    nodes: list[Node]
    edges: list[tuple[int, int]]
    node_of: dict[str, int]
    group_of: dict[str, str]  # step name: its group, for the steps that have one
    groups: dict[str, int]  # group name: how many steps it has, in graph order
    by_level: bool  # drawn by level: the graph was too large to draw node by node
    steps: int = 0
    columns: int = 0
    rows: int = 0


def step_levels(graph: dict) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Each step's depth (the longest chain of steps it waits for) and the graph's edges.

    Linear in steps and edges. A stored graph has no cycle; steps of a bad document that wait
    in a cycle are put at depth 0 rather than refused, so it is still drawn.
    """
    names = [step["name"] for step in graph.get("steps") or []]
    known = set(names)
    upstream = upstream_steps(graph)
    edges = [(parent, name) for name in names for parent in sorted(upstream[name] & known)]
    downstream: dict[str, list[str]] = {name: [] for name in names}
    waiting = {name: 0 for name in names}
    for parent, name in edges:
        downstream[parent].append(name)
        waiting[name] += 1
    depth = {name: 0 for name in names}
    ready = deque(name for name in names if not waiting[name])
    while ready:
        name = ready.popleft()
        for child in downstream[name]:
            depth[child] = max(depth[child], depth[name] + 1)
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    return depth, edges


def layout_graph(graph: dict) -> GraphLayout:
    """The nodes, edges and positions of ``graph``'s drawing (see the module's docstring)."""
    steps = graph.get("steps") or []
    depth, step_edges = step_levels(graph)
    nodes: list[Node] = []
    node_of: dict[str, int] = {}
    group_of: dict[str, str] = {}
    group_node: dict[str, int] = {}
    for step in steps:
        name, group = step["name"], step.get("group")
        if not group:
            node_of[name] = len(nodes)
            nodes.append(Node("step", name, 1, depth[name]))
            continue
        group_of[name] = group
        if group not in group_node:
            group_node[group] = len(nodes)
            nodes.append(Node("group", group, 0, depth[name]))
        node = nodes[group_node[group]]
        node.size += 1
        node.column = min(node.column, depth[name])
        node_of[name] = group_node[group]
    groups = {group: nodes[index].size for group, index in group_node.items()}
    by_level = len(nodes) > DRAWN_NODES
    if by_level:
        nodes, node_of = _by_level(steps, depth)
    edges = sorted({(node_of[a], node_of[b]) for a, b in step_edges if node_of[a] != node_of[b]})
    layout = GraphLayout(nodes, edges, node_of, group_of, groups, by_level, steps=len(steps))
    return _placed(layout)


def _by_level(steps: list[dict], depth: dict[str, int]) -> tuple[list[Node], dict[str, int]]:
    """One node per level, or per band of consecutive levels when there are too many."""
    levels = max(depth.values(), default=0) + 1
    band = math.ceil(levels / DRAWN_COLUMNS)
    nodes: list[Node] = []
    node_at: dict[int, int] = {}
    node_of: dict[str, int] = {}
    for step in steps:
        column = depth[step["name"]] // band
        if column not in node_at:
            first, last = column * band + 1, min(levels, (column + 1) * band)
            label = f"Level {first}" if first == last else f"Levels {first}–{last}"
            node_at[column] = len(nodes)
            nodes.append(Node("levels", label, 0, column))
        nodes[node_at[column]].size += 1
        node_of[step["name"]] = node_at[column]
    return nodes, node_of


def _placed(layout: GraphLayout) -> GraphLayout:
    """Rows within each column in graph order; columns renumbered without gaps."""
    columns = sorted({node.column for node in layout.nodes})
    renumber = {column: index for index, column in enumerate(columns)}
    filled = [0] * len(columns)
    for node in layout.nodes:
        node.column = renumber[node.column]
        node.row = filled[node.column]
        filled[node.column] += 1
    layout.columns, layout.rows = len(columns), max(filled, default=0)
    return layout


def _xy(node: Node) -> tuple[int, int]:
    return (
        MARGIN + node.column * (NODE_WIDTH + GAP_X),
        MARGIN + node.row * (NODE_HEIGHT + GAP_Y),
    )


def render_graph_svg(graph: dict, states: dict[str, StepState] | None = None) -> SafeString:
    """The graph as an inline ``<svg>``; ``states`` (by step name) colours steps and links them.

    For a page that draws the same graph often, keep :func:`layout_graph` and call
    :func:`render_layout_svg`.
    """
    layout = layout_graph(graph)
    states = states or {}
    drawn: dict[int, StepState | NodeState] = {}
    for name, state in states.items():
        index = layout.node_of.get(name)
        if index is None:
            continue
        if layout.nodes[index].kind == "step":
            drawn[index] = state
            continue
        node = drawn.setdefault(index, NodeState())
        node.counts[state.status] = node.counts.get(state.status, 0) + 1
        node.reused += state.reused
    return render_layout_svg(layout, drawn)


def render_layout_svg(
    layout: GraphLayout, states: dict[int, StepState | NodeState] | None = None
) -> SafeString:
    """``layout`` as an inline ``<svg>``; ``states`` maps node indexes to how each is drawn."""
    states = states or {}
    if not layout.nodes:
        return format_html('<p class="muted">{}</p>', "This pipeline has no steps.")
    width = MARGIN * 2 + layout.columns * NODE_WIDTH + (layout.columns - 1) * GAP_X + STACK
    height = MARGIN * 2 + layout.rows * (NODE_HEIGHT + GAP_Y) - GAP_Y + STACK
    points = [_xy(node) for node in layout.nodes]
    paths = format_html_join(
        "",
        '<path class="edge" d="M{} {} C{} {} {} {} {} {}" marker-end="url(#arrow)"/>',
        (_edge_points(points[a], points[b]) for a, b in layout.edges),
    )
    nodes = mark_safe(
        "".join(
            _node(node.label, points[i], states.get(i))
            if node.kind == "step"
            else _many(node, points[i], states.get(i))
            for i, node in enumerate(layout.nodes)
        )
    )
    return format_html(
        '<svg class="dag" role="img" aria-label="{label}" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker>'
        "</defs>{paths}{nodes}</svg>",
        label=(
            f"Step graph of {layout.steps:,} steps, drawn by level"
            if layout.by_level
            else "Step graph"
        ),
        w=width,
        h=height,
        paths=paths,
        nodes=nodes,
    )


def _edge_points(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, ...]:
    x1, y1 = a[0] + NODE_WIDTH, a[1] + NODE_HEIGHT // 2
    x2, y2 = b[0] - 2, b[1] + NODE_HEIGHT // 2
    mid = (x1 + x2) // 2
    return (x1, y1, mid, y1, mid, y2, x2, y2)


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _node(name: str, xy: tuple[int, int], state: StepState | NodeState | None) -> str:
    if isinstance(state, NodeState):  # a layout drawn by level has no step nodes
        state = None
    state = state or StepState()
    x, y = xy
    classes = "node"
    if state.status:
        classes += f" status-{state.status.lower()}"
    if state.reused:
        classes += " reused"
    if state.selected:
        classes += " selected"
    subtitle = state.status_label + (" · reused" if state.reused else "")
    body = format_html(
        '<g class="{cls}"><title>{title}</title>'
        '<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>'
        '<text x="{tx}" y="{ty1}" class="name">{label}</text>'
        '<text x="{tx}" y="{ty2}" class="sub">{sub}</text></g>',
        cls=classes,
        title=f"{name} — {subtitle}" if subtitle else name,
        x=x,
        y=y,
        w=NODE_WIDTH,
        h=NODE_HEIGHT,
        tx=x + 10,
        ty1=y + 20,
        ty2=y + 38,
        label=_short(name),
        sub=("♻ " if state.reused else "") + subtitle,
    )
    if state.href:
        return format_html(
            '<a href="{}" aria-label="Step {}: {}">{}</a>', state.href, name, subtitle, body
        )
    return body


def status_summary(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(status, label, count) of the statuses present, in the order of :data:`STATUS_BAR`."""
    return [
        (status, RunStatus(status).label, counts[status])
        for status in STATUS_BAR
        if counts.get(status)
    ]


def _progress(counts: dict[str, int], size: int) -> str:
    """What fits under a node's name: "2/3 finished · 1 failed" (or running)."""
    failed = counts.get(RunStatus.FAILED, 0)
    active = sum(counts.get(s, 0) for s in (RunStatus.RUNNING, RunStatus.QUEUED))
    extra = f" · {failed:,} failed" if failed else f" · {active:,} running" if active else ""
    finished = counts.get(RunStatus.FINISHED, 0)
    text = f"{finished:,}/{size:,} finished{extra}"
    return text if len(text) <= MAX_LABEL + 6 else f"{finished:,} finished{extra}"


def _bar_widths(summary: list[tuple[str, str, int]], inner: int) -> list[tuple[str, int]]:
    """Each status's share of the bar, at least 2 px so that 3 failures in 10,000 show."""
    total = sum(count for _, _, count in summary)
    widths = [[status, max(2, round(inner * count / total))] for status, _, count in summary]
    if widths:
        max(widths, key=lambda item: item[1])[1] += inner - sum(w for _, w in widths)
    return [(status, width) for status, width in widths]


def _many(node: Node, xy: tuple[int, int], state: StepState | NodeState | None) -> str:
    """A node standing for several steps: a stack of cards, a count and a status bar."""
    state = state if isinstance(state, NodeState) else NodeState()
    x, y = xy
    summary = status_summary(state.counts)
    status = next((s for s in STATUS_PRIORITY if state.counts.get(s)), "")
    classes = f"node {node.kind}" + (f" status-{status.lower()}" if status else "")
    if state.selected:
        classes += " selected"
    counted = " · ".join(f"{count:,} {label.lower()}" for _, label, count in summary)
    if state.reused:
        counted += f" · {state.reused:,} reused"
    steps = f"{node.size:,} step" + ("" if node.size == 1 else "s")
    title = f"{'Group ' if node.kind == 'group' else ''}{node.label} — {steps}" + (
        f": {counted}" if counted else ""
    )
    name = f"{_short(node.label, MAX_LABEL - 7)} ×{node.size:,}"
    sub = _progress(state.counts, node.size) if state.counts else steps
    bar, left = [], x + 1
    for bar_status, width in _bar_widths(summary, NODE_WIDTH - 2):
        bar.append((f"seg status-{bar_status.lower()}", left, y + NODE_HEIGHT - 7, width))
        left += width
    body = format_html(
        '<g class="{cls}"><title>{title}</title>'
        '<rect class="behind" x="{bx}" y="{by}" width="{w}" height="{h}" rx="6"/>'
        '<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>'
        '<text x="{tx}" y="{ty1}" class="name">{label}</text>'
        '<text x="{tx}" y="{ty2}" class="sub">{sub}</text>{bar}</g>',
        cls=classes,
        title=title,
        bx=x + STACK,
        by=y + STACK,
        x=x,
        y=y,
        w=NODE_WIDTH,
        h=NODE_HEIGHT,
        tx=x + 10,
        ty1=y + 19,
        ty2=y + 35,
        label=name,
        sub=sub,
        bar=format_html_join(
            "",
            '<rect class="{}" x="{}" y="{}" width="{}" height="5"/>',
            bar,
        ),
    )
    if state.href:
        return format_html('<a href="{}" aria-label="{}">{}</a>', state.href, title, body)
    return body
