"""Server-side SVG charts with axes, ticks, units, labels and a tooltip on every mark.

Drawn on the server rather than by a JavaScript library: the pages stay one request, the
charts work without JavaScript and under a strict Content-Security-Policy, and nothing has
to be vendored and kept up to date. Colours come from ``studio.css`` (classes only).
Text reaches the SVG only through ``format_html``, so names in tooltips stay text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import PipelineRun
from .queries import recent_runs_by_endpoint

CHARTED_ENDPOINTS = 6
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 44


@dataclass
class Mark:
    """One run on a chart: its x label, its value (None: shown as a gap, not as 0)."""

    label: str
    value: float | None
    tooltip: str
    css: str = ""


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``low``..``high``."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:.3g}"


def _frame(marks: list[Mark], y_label: str, unit: str, zero: bool):
    values = [m.value for m in marks if m.value is not None]
    low = min(values, default=0.0)
    high = max(values, default=1.0)
    if zero:
        low = min(0.0, low)
    ticks = nice_ticks(low, high)
    low, high = ticks[0], ticks[-1]
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT

    def y_of(value: float) -> float:
        return round(TOP + plot_h - (value - low) / ((high - low) or 1.0) * plot_h, 1)

    unit_text = f" ({unit})" if unit else ""
    grid = format_html_join(
        "",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="axis tick" x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, y_of(t), y_of(t), LEFT - 6, y_of(t) + 4, _number(t)) for t in ticks),
    )
    slot = plot_w / max(1, len(marks))
    every = max(1, math.ceil(len(marks) / 16))  # x labels that fit without overlapping
    x_labels = format_html_join(
        "",
        '<text class="axis tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (round(LEFT + slot * (i + 0.5), 1), HEIGHT - BOTTOM + 16, mark.label)
            for i, mark in enumerate(marks)
            if i % every == 0
        ),
    )
    axes = format_html(
        '<line class="axis-line" x1="{l}" x2="{l}" y1="{t}" y2="{b}"/>'
        '<line class="axis-line" x1="{l}" x2="{r}" y1="{b}" y2="{b}"/>{grid}{x_labels}'
        '<text class="axis label" x="{cx}" y="{xl}" text-anchor="middle">Run</text>'
        '<text class="axis label" x="12" y="{cy}" text-anchor="middle" '
        'transform="rotate(-90 12 {cy})">{y_label}{unit}</text>',
        l=LEFT,
        r=WIDTH - RIGHT,
        t=TOP,
        b=HEIGHT - BOTTOM,
        grid=grid,
        x_labels=x_labels,
        cx=LEFT + plot_w / 2,
        xl=HEIGHT - 8,
        cy=TOP + plot_h / 2,
        y_label=y_label,
        unit=unit_text,
    )
    return axes, y_of, slot


def _svg(kind: str, label: str, body) -> SafeString:
    return format_html(
        '<svg class="chart {}" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}</svg>",
        kind,
        label,
        WIDTH,
        HEIGHT,
        label,
        body,
    )


def bar_chart_svg(marks: list[Mark], *, label: str, y_label: str, unit: str = "") -> SafeString:
    """Bars from zero, one per mark; a mark without a value is a labelled gap."""
    axes, y_of, slot = _frame(marks, y_label, unit, zero=True)
    width = max(2.0, min(36.0, slot * 0.7))
    bars = []
    for i, mark in enumerate(marks):
        x = round(LEFT + slot * (i + 0.5) - width / 2, 1)
        if mark.value is None:
            bars.append(
                format_html(
                    '<g class="gap"><rect class="gap" x="{}" y="{}" width="{}" height="6"/>'
                    "<title>{}</title></g>",
                    x,
                    y_of(0) - 6,
                    round(width, 1),
                    mark.tooltip,
                )
            )
            continue
        top, base = y_of(max(mark.value, 0)), y_of(min(mark.value, 0))
        bars.append(
            format_html(
                '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}</title></rect>",
                mark.css,
                x,
                top,
                round(width, 1),
                max(1.0, round(base - top, 1)),
                mark.tooltip,
            )
        )
    return _svg(
        "bars", label, format_html("{}{}", axes, format_html_join("", "{}", ((b,) for b in bars)))
    )


def line_chart_svg(marks: list[Mark], *, label: str, y_label: str, unit: str = "") -> SafeString:
    """A line through the marks' values, a dot with a tooltip on each."""
    axes, y_of, slot = _frame(marks, y_label, unit, zero=False)
    points = [
        (round(LEFT + slot * (i + 0.5), 1), y_of(mark.value), mark)
        for i, mark in enumerate(marks)
        if mark.value is not None
    ]
    line = " ".join(f"{x},{y}" for x, y, _ in points)
    dots = format_html_join(
        "",
        '<circle class="point {}" cx="{}" cy="{}" r="4"><title>{}</title></circle>',
        ((mark.css, x, y, mark.tooltip) for x, y, mark in points),
    )
    return _svg(
        "line-chart",
        label,
        format_html('{}<polyline class="line" points="{}"/>{}', axes, line, dots),
    )


def run_seconds(run: PipelineRun) -> float | None:
    """How long a run took, None when it has not ended or no step ran (fully reused: its
    start and end are the same instant, and 0 s would read as a very fast run)."""
    duration = run.duration
    if duration is None or duration.total_seconds() == 0:
        return None
    return duration.total_seconds()


def run_durations_svg(runs: list[PipelineRun], label: str) -> SafeString:
    """Bars of the runs' durations in seconds, oldest first, coloured by status."""
    marks = []
    for run in runs:
        seconds = run_seconds(run)
        status = run.get_status_display()
        if seconds is None:
            why = "every step reused" if run.is_terminal else "not ended yet"
            tooltip = f"Run {run.pk}: {status}, {why}"
        else:
            tooltip = f"Run {run.pk}: {status}, {seconds:.1f} s"
        marks.append(Mark(f"{run.pk}", seconds, tooltip, f"status-{run.status.lower()}"))
    return bar_chart_svg(marks, label=label, y_label="Duration", unit="s")


def endpoint_charts(runs, limit: int = CHARTED_ENDPOINTS) -> list[tuple[object, SafeString]]:
    """(endpoint, chart of its recent runs) for the first ``limit`` endpoints among ``runs``."""
    endpoints = {}
    for run in runs:
        if run.pipeline_endpoint_id and len(endpoints) < limit:
            endpoints.setdefault(run.pipeline_endpoint_id, run.pipeline_endpoint)
    recent = recent_runs_by_endpoint(endpoints)
    return [
        (endpoint, run_durations_svg(recent.get(pk, []), f"Recent runs of {endpoint.name}"))
        for pk, endpoint in endpoints.items()
    ]


def metric_chart_svg(points: list[tuple[PipelineRun, float]], name: str, bars: bool = False):
    """Metric ``name`` across runs in the order given: a line (an experiment's runs over
    time) or bars (runs compared side by side)."""
    if not points:
        return format_html('<p class="muted">No run logged a number for “{}”.</p>', name)
    marks = [
        Mark(
            f"{run.pk}", value, f"Run {run.pk}: {name} = {value:g}", f"status-{run.status.lower()}"
        )
        for run, value in points
    ]
    draw = bar_chart_svg if bars else line_chart_svg
    return draw(marks, label=f"{name} across runs", y_label=name)
