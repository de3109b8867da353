"""``Run.get_context()``: what a step script uses to log metrics and tags.

Inside a step the worker sets ``STUDIO_RUN_ID``, ``STUDIO_STEP_RUN_ID``, ``STUDIO_URL`` and
``STUDIO_STEP_TOKEN``, a run token valid only for this step run while it runs; each call
posts to the studio's execution API (``POST /api/v1/step-runs/{id}/metrics``), which stores
it as a metric of the step run and its pipeline run. Outside a pipeline the context is
offline: calls print what they would record and do nothing else.
"""

from __future__ import annotations

import json
import math
import os
import sys

from ._http import HttpClient


class Run:
    """The run a step script belongs to (``Run.get_context()``), or an offline stand-in."""

    def __init__(
        self,
        run_id: str | None,
        step_run_id: str | None,
        url: str | None = None,
        token: str | None = None,
    ):
        self.id = run_id
        self.step_run_id = step_run_id
        self._url, self._token = url, token
        self._http: HttpClient | None = None

    @classmethod
    def get_context(cls) -> Run:
        """The current step's run, or an offline run when not inside a pipeline step."""
        return cls(
            os.environ.get("STUDIO_RUN_ID"),
            os.environ.get("STUDIO_STEP_RUN_ID"),
            os.environ.get("STUDIO_URL"),
            os.environ.get("STUDIO_STEP_TOKEN"),
        )

    @property
    def offline(self) -> bool:
        """True outside a pipeline step: calls print and record nothing."""
        return not (self._url and self._token and self.step_run_id)

    @property
    def parent(self) -> Run | None:
        """The pipeline run this step run belongs to (None offline)."""
        if self.offline:
            return None
        return Run(self.id, None)

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
        json.dumps(value, allow_nan=False)  # refuse what the server could not store
        if self.offline:
            print(f"[offline run] {kind} {name} = {json.dumps(value)}", file=sys.stdout)
            return
        if self._http is None:
            self._http = HttpClient(self._url, self._token, retries=3, backoff_seconds=0.25)
        self._http.post(
            f"/step-runs/{self.step_run_id}/metrics",
            json={"Metrics": [{"Name": name, "Kind": kind, "Value": value}]},
        )

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
