"""Template filters for run pages: durations and values people can read at a glance."""

import json
from datetime import timedelta

from django import template

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
