"""Metrics a step script logs through ``Run.get_context()``, stored as Metric rows.

The script appends JSON lines ``{"name", "kind", "value"}`` to the file named by
``STUDIO_METRICS_FILE``; the worker reads what is new while the step runs and at its end.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.models import Metric

MAX_VALUE_BYTES = 64 * 1024


def parse_metric_line(line: str) -> tuple[str, str, object] | None:
    """``(name, kind, value)`` of one JSON line, or None when it is not a valid metric."""
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        return None
    kind = item.get("kind", Metric.Kind.SCALAR)
    if kind not in Metric.Kind.values or len(line) > MAX_VALUE_BYTES:
        return None
    return item["name"][:255], kind, item.get("value")


class MetricsReader:
    """Reads the complete lines appended to a metrics file since the last call."""

    def __init__(self, path: Path, run_id: int, step_run_id: int):
        self.path, self.run_id, self.step_run_id = path, run_id, step_run_id
        self.offset = 0

    def ingest(self) -> int:
        """Store the new metrics; returns how many were stored (bad lines are skipped)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return 0
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        metrics = []
        for raw in complete.decode("utf-8", errors="replace").splitlines():
            parsed = parse_metric_line(raw)
            if parsed is not None:
                name, kind, value = parsed
                metrics.append(
                    Metric(
                        run_id=self.run_id,
                        step_run_id=self.step_run_id,
                        name=name,
                        kind=kind,
                        value=value,
                    )
                )
        Metric.objects.bulk_create(metrics)
        return len(metrics)
