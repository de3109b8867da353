"""Metrics a step script logs through ``Run.get_context()``, stored as Metric rows.

The script sends them with its run token to ``POST /api/v1/step-runs/{id}/metrics``
(:mod:`pipelines.execution_api`); :func:`record_metrics` checks and stores them on the step
run and its pipeline run, whose latest values (``RunMetricValue``) follow.
"""

from __future__ import annotations

import json

from core.errors import InvalidInput
from pipelines.models import Metric, StepRun

MAX_VALUE_BYTES = 64 * 1024
MAX_METRICS_PER_CALL = 1000


def metric_problem(name, kind, value) -> str | None:
    """What is wrong with one metric, or None when it can be stored."""
    if not isinstance(name, str) or not name or len(name) > 255:
        return "Name must be a string of 1 to 255 characters"
    if kind not in Metric.Kind.values:
        return f"Kind must be one of {', '.join(Metric.Kind.values)}"
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return "Value must be plain JSON (no NaN or infinity)"
    if size > MAX_VALUE_BYTES:
        return f"Value is larger than {MAX_VALUE_BYTES} bytes of JSON"
    return None


def record_metrics(step: StepRun, items: list[tuple[str, str, object]]) -> int:
    """Store ``(name, kind, value)`` items as metrics of ``step`` and its run, all or none.

    Raises InvalidInput naming the first bad item; returns how many were stored.
    """
    if len(items) > MAX_METRICS_PER_CALL:
        raise InvalidInput(f"At most {MAX_METRICS_PER_CALL} metrics per call.")
    details = [
        {"field": f"Metrics[{index}]", "message": problem}
        for index, (name, kind, value) in enumerate(items)
        if (problem := metric_problem(name, kind, value))
    ]
    if details:
        raise InvalidInput(f"{details[0]['field']}: {details[0]['message']}.", details)
    Metric.log(
        [
            Metric(run_id=step.run_id, step_run_id=step.pk, name=name, kind=kind, value=value)
            for name, kind, value in items
        ]
    )
    return len(items)
