"""Server-rendered SVG of a pipeline graph: steps left to right by dependency depth.

Every piece of text (step names, statuses) goes through ``format_html``, so a step called
``<script>`` is drawn as those characters and never becomes markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .graph import GraphError, step_order, upstream_steps

NODE_WIDTH = 190
NODE_HEIGHT = 50
GAP_X = 56
GAP_Y = 18
MARGIN = 8
MAX_LABEL = 24


@dataclass(frozen=True)
class StepState:
    """How one step is drawn: its status, whether it was reused, and where clicking leads."""

    status: str = ""
    status_label: str = ""
    reused: bool = False
    href: str = ""
    selected: bool = False


def _depths(graph: dict) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Each step's column (longest chain of steps it waits for) and the graph's edges."""
    upstream = upstream_steps(graph)
    depth: dict[str, int] = {}
    try:
        order = step_order(graph)
    except GraphError:  # a stored graph has no cycle; still draw a bad document flat
        order = list(upstream)
        upstream = {name: set() for name in upstream}
    for name in order:
        depth[name] = max((depth[p] + 1 for p in upstream[name]), default=0)
    edges = [(parent, name) for name in order for parent in sorted(upstream[name])]
    return depth, edges


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def render_graph_svg(graph: dict, states: dict[str, StepState] | None = None) -> SafeString:
    """The graph as an inline ``<svg>``; ``states`` colours steps by status and links them."""
    states = states or {}
    names = [step["name"] for step in graph.get("steps") or []]
    if not names:
        return format_html('<p class="muted">{}</p>', "This pipeline has no steps.")
    depth, edges = _depths(graph)
    columns: dict[int, list[str]] = {}
    for name in names:
        columns.setdefault(depth[name], []).append(name)
    position = {}
    for col, members in columns.items():
        for row, name in enumerate(members):
            x = MARGIN + col * (NODE_WIDTH + GAP_X)
            y = MARGIN + row * (NODE_HEIGHT + GAP_Y)
            position[name] = (x, y)
    width = MARGIN * 2 + len(columns) * NODE_WIDTH + (len(columns) - 1) * GAP_X
    height = MARGIN * 2 + max(len(m) for m in columns.values()) * (NODE_HEIGHT + GAP_Y) - GAP_Y

    paths = format_html_join(
        "",
        '<path class="edge" d="M{} {} C{} {} {} {} {} {}" marker-end="url(#arrow)"/>',
        (_edge_points(position[a], position[b]) for a, b in edges),
    )
    nodes = mark_safe("".join(_node(name, position[name], states.get(name)) for name in names))
    return format_html(
        '<svg class="dag" role="img" aria-label="Step graph" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker>'
        "</defs>{paths}{nodes}</svg>",
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


def _node(name: str, xy: tuple[int, int], state: StepState | None) -> str:
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
