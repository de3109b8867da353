"""Small inline SVG charts: recent run durations and outcomes, a metric across runs.

Text reaches the SVG only through ``format_html``, so names in tooltips stay text.
"""

from __future__ import annotations

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import PipelineRun
from .queries import recent_runs_by_endpoint

BAR_WIDTH = 10
BAR_GAP = 3
CHART_HEIGHT = 48
CHARTED_ENDPOINTS = 6


def _seconds(run: PipelineRun) -> float:
    duration = run.duration
    return duration.total_seconds() if duration else 0.0


def run_outcomes_svg(runs: list[PipelineRun], label: str) -> SafeString:
    """Bars of the runs' durations, oldest first, each coloured by the run's status."""
    seconds = [_seconds(run) for run in runs]
    longest = max(seconds, default=0.0) or 1.0
    bars = []
    for i, (run, value) in enumerate(zip(runs, seconds, strict=True)):
        height = max(3, round(value / longest * (CHART_HEIGHT - 4)))
        # Only numbers and known status names go in unescaped; the title is escaped.
        bars.append(
            f'<rect class="bar status-{escape(run.status.lower())}" '
            f'x="{i * (BAR_WIDTH + BAR_GAP)}" y="{CHART_HEIGHT - height}" width="{BAR_WIDTH}" '
            f'height="{height}"><title>Run {run.pk}: '
            f"{escape(run.get_status_display())}, {value:.1f} s</title></rect>"
        )
    width = max(1, len(runs) * (BAR_WIDTH + BAR_GAP))
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        label,
        width,
        CHART_HEIGHT,
        width,
        CHART_HEIGHT,
        mark_safe("".join(bars)),  # every piece above is escaped or a number
    )


def endpoint_charts(runs, limit: int = CHARTED_ENDPOINTS) -> list[tuple[object, SafeString]]:
    """(endpoint, chart of its recent runs) for the first ``limit`` endpoints among ``runs``."""
    endpoints = {}
    for run in runs:
        if run.pipeline_endpoint_id and len(endpoints) < limit:
            endpoints.setdefault(run.pipeline_endpoint_id, run.pipeline_endpoint)
    recent = recent_runs_by_endpoint(endpoints)
    return [
        (endpoint, run_outcomes_svg(recent.get(pk, []), f"Recent runs of {endpoint.name}"))
        for pk, endpoint in endpoints.items()
    ]


def metric_line_svg(points: list[tuple[PipelineRun, float]], name: str) -> SafeString:
    """A line of metric ``name`` across runs (oldest left), each point titled with its run."""
    width, height, pad = 640, 200, 28
    if not points:
        return format_html('<p class="muted">No run logged “{}” yet.</p>', name)
    values = [value for _, value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(1, len(points) - 1)
    coords = [
        (
            round(pad + i * step, 1),
            round(height - pad - (value - low) / span * (height - 2 * pad), 1),
            run,
            value,
        )
        for i, (run, value) in enumerate(points)
    ]
    line = " ".join(f"{x},{y}" for x, y, _, _ in coords)
    dots = format_html_join(
        "",
        '<circle class="point status-{}" cx="{}" cy="{}" r="4"><title>Run {}: {}</title></circle>',
        ((run.status.lower(), x, y, run.pk, f"{value:g}") for x, y, run, value in coords),
    )
    return format_html(
        '<svg class="chart metric" role="img" aria-label="{name} across runs" viewBox="0 0 {w} {h}"'
        ' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        '<text x="4" y="14" class="axis">{high}</text><text x="4" y="{lowy}" class="axis">{low}'
        '</text><polyline class="line" points="{line}"/>{dots}</svg>',
        name=name,
        w=width,
        h=height,
        high=f"{high:g}",
        low=f"{low:g}",
        lowy=height - 6,
        line=line,
        dots=dots,
    )
