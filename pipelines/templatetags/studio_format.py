"""Template filters for run pages: durations and values people can read at a glance."""

import json
from datetime import UTC, datetime, timedelta
from html import escape as escape_text

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as "850 ms", "12.3 s", "4 min 05 s" or "1 h 02 min"; "" for None."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def as_json(value) -> str:
    """A parameter or metric value as its caller wrote it: JSON for tables, lists, true/false
    and null (not Python's repr), text as it is. Escaped like any other text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@register.filter
def metric_summary(value) -> dict:
    """A metric value in one short line, and the whole of it when the line leaves some out:
    a list shows its length and last value, a table its columns and rows."""
    if isinstance(value, list):
        last = as_json(value[-1]) if value else "—"
        short = f"{len(value)} values, last {last}"
    elif isinstance(value, dict):
        rows = max((len(v) for v in value.values() if isinstance(v, list)), default=1)
        short = f"table: {len(value)} columns × {rows} rows"
    else:
        text = as_json(value)
        if len(text) <= 80:
            return {"short": text, "full": ""}
        short = text[:77] + "…"
    return {"short": short, "full": json.dumps(value, ensure_ascii=False, indent=1)}


@register.filter
def metric_html(value) -> str:
    """A metric value as a table cell shows it (see :func:`metric_summary`): its short line,
    opening to the whole of it when the line leaves some out. A filter, not an included
    template: a compare page has 500 such cells."""
    shown = metric_summary(value)
    if shown["full"]:
        return format_html(
            '<details class="metric-value"><summary><code>{}</code></summary><pre>{}</pre>'
            "</details>",
            shown["short"],
            shown["full"],
        )
    return format_html("<code>{}</code>", shown["short"])


@register.filter
def utc_iso(value: datetime | None) -> str:
    """A moment as UTC ISO 8601 for ``<time datetime>`` (the browser shows it in its zone)."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds")


@register.filter
def select_options(field) -> str:
    """The ``<option>``s of a bound choice field, the chosen one selected, built in one go: a
    template loop costs some 20 µs an option, and a workspace may have a thousand endpoints.
    Values and labels are escaped (they are plain text: names, ids)."""
    chosen = "" if field.value() is None else str(field.value())
    return mark_safe(
        "".join(
            f'<option value="{escape_text(str(value))}"'
            f"{' selected' if str(value) == chosen else ''}>{escape_text(str(label))}</option>"
            for value, label in field.field.choices
        )
    )
