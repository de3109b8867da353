"""``Run.get_context()``: what a step script uses to log metrics and tags.

Inside a step the worker sets ``STUDIO_RUN_ID``, ``STUDIO_STEP_RUN_ID`` and
``STUDIO_METRICS_FILE``; each call appends one JSON line to that file and the worker
stores it as a metric of the step run and its pipeline run. Outside a pipeline the
context is offline: calls print what they would record and do nothing else.
"""

from __future__ import annotations

import json
import math
import os
import sys


class Run:
    """The run a step script belongs to (``Run.get_context()``), or an offline stand-in."""

    def __init__(self, run_id: str | None, step_run_id: str | None, metrics_file: str | None):
        self.id = run_id
        self.step_run_id = step_run_id
        self._metrics_file = metrics_file

    @classmethod
    def get_context(cls) -> Run:
        """The current step's run, or an offline run when not inside a pipeline step."""
        return cls(
            os.environ.get("STUDIO_RUN_ID"),
            os.environ.get("STUDIO_STEP_RUN_ID"),
            os.environ.get("STUDIO_METRICS_FILE"),
        )

    @property
    def offline(self) -> bool:
        """True outside a pipeline step: calls print and record nothing."""
        return not self._metrics_file

    @property
    def parent(self) -> Run | None:
        """The pipeline run this step run belongs to (None offline)."""
        if self.offline:
            return None
        return Run(self.id, None, self._metrics_file)

    def log(self, name: str, value, description: str = "") -> None:
        """Record a scalar metric (a number, or a short string)."""
        self._record(name, "scalar", _plain(value))

    def log_list(self, name: str, value, description: str = "") -> None:
        """Record a list of values under one name."""
        self._record(name, "list", [_plain(v) for v in value])

    def log_row(self, name: str, description: str = "", **columns) -> None:
        """Record one row of a table: ``log_row("scores", epoch=1, loss=0.3)``."""
        self._record(name, "row", {k: _plain(v) for k, v in columns.items()})

    def tag(self, key: str, value: str = "") -> None:
        """Tag the run with ``key`` (and an optional string value)."""
        self._record(key, "tag", str(value))

    def _record(self, name: str, kind: str, value) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a metric needs a non-empty name")
        line = json.dumps({"name": name, "kind": kind, "value": value}, allow_nan=False)
        if self.offline:
            print(f"[offline run] {kind} {name} = {json.dumps(value)}", file=sys.stdout)
            return
        with open(self._metrics_file, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, offline={self.offline})"


def _plain(value):
    """A JSON-friendly value: numpy scalars become numbers, NaN/inf become strings."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
