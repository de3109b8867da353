"""Pipeline runs and step runs: status, waiting with live logs, metrics, outputs, cancel."""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from ._html import html_table
from .errors import RunFailedError, RunTimeoutError, StudioError

if TYPE_CHECKING:
    from .published import PublishedPipeline
    from .workspace import Workspace

TERMINAL_STATUSES = frozenset({"Finished", "Failed", "Canceled"})
WAITING_STATUSES = frozenset({"NotStarted", "Queued"})


def submit_body(
    experiment_name: str,
    pipeline_parameters: dict[str, Any] | None = None,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    pipeline_version: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a run request (see the REST contract), with ``RunSource: "SDK"``."""
    if not isinstance(experiment_name, str) or not experiment_name.strip():
        raise StudioError("experiment_name must be a non-empty string")
    body: dict[str, Any] = {
        "ExperimentName": experiment_name,
        "ParameterAssignments": dict(pipeline_parameters or {}),
        "RunSource": "SDK",
    }
    if description:
        body["Description"] = description
    if tags:
        body["Tags"] = dict(tags)
    if pipeline_version is not None:
        body["PipelineVersion"] = str(pipeline_version)
    return body


def metrics_to_dict(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold metric records into ``{name: value}`` the way the cloud SDK reports them.

    A scalar logged once is its value, logged again a list of values; ``log_list`` gives the
    list; ``log_row`` rows become ``{column: [values...]}``. Tags are left out
    (see :meth:`PipelineRun.get_tags`).
    """
    result: dict[str, Any] = {}
    for item in items:
        name, kind, value = item.get("Name"), item.get("Kind", "scalar"), item.get("Value")
        if kind == "tag":
            continue
        if kind == "row" and isinstance(value, dict):
            table = result.setdefault(name, {})
            for column, cell in value.items():
                table.setdefault(column, []).append(cell)
        elif kind == "scalar" and name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    return result


def _safe_extract(archive: IO[bytes], target: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            parts = PurePosixPath(member.filename).parts
            if member.filename.startswith("/") or ".." in parts:
                raise StudioError(f"Refusing an output entry that leaves its folder: {member}")
        bundle.extractall(target)


class StepRun:
    """One step's execution inside a :class:`PipelineRun`: status, log, metrics and outputs."""

    def __init__(self, pipeline_run: PipelineRun, details: dict[str, Any]) -> None:
        self.pipeline_run = pipeline_run
        self._details = details

    def __repr__(self) -> str:
        return f"StepRun(name={self.name!r}, id={self.id!r}, status={self.status!r})"

    @property
    def id(self) -> str:
        """The step run's id."""
        return str(self._details["Id"])

    @property
    def name(self) -> str:
        """The step's name in the pipeline."""
        return str(self._details.get("Name", ""))

    @property
    def status(self) -> str:
        """The status as last fetched (see :meth:`get_status` for a fresh one)."""
        return str(self._details.get("Status", ""))

    @property
    def _path(self) -> str:
        return f"/runs/{self.pipeline_run.id}/steps/{self.id}"

    def _refresh(self) -> None:
        for step in self.pipeline_run._fetch_steps():
            if str(step.get("Id")) == self.id:
                self._details = step
                return

    def get_status(self) -> str:
        """Fetch and return the current status, e.g. ``"Running"`` or ``"Finished"``."""
        self._refresh()
        return self.status

    def get_details(self) -> dict[str, Any]:
        """Fetch and return the step run as the server describes it (times, exit code, reuse)."""
        self._refresh()
        return dict(self._details)

    def get_metrics(self) -> dict[str, Any]:
        """The metrics this step logged, as ``{name: value}`` (see :func:`metrics_to_dict`)."""
        return metrics_to_dict(self.pipeline_run._http.get(f"{self._path}/metrics")["Items"])

    def read_log(self, offset: int = 0) -> dict[str, Any]:
        """A chunk of the log from byte ``offset``: ``{Offset, NextOffset, Content, Complete}``."""
        return self.pipeline_run._http.get(f"{self._path}/log", params={"offset": offset})

    def get_log(self) -> str:
        """The step's whole log (stdout and stderr) as captured so far."""
        offset, parts = 0, []
        while True:
            chunk = self.read_log(offset)
            parts.append(chunk.get("Content") or "")
            next_offset = int(chunk.get("NextOffset", offset))
            if chunk.get("Complete") or next_offset <= offset:
                return "".join(parts)
            offset = next_offset

    def read_output_file(self, output_name: str, path: str) -> bytes:
        """The bytes of one file inside the output folder ``output_name``."""
        response = self.pipeline_run._http.get(
            f"{self._path}/outputs/{quote(output_name)}/files/{quote(path)}", raw=True
        )
        with response:
            return response.content

    def download_output(
        self, output_name: str, local_path: str | Path = ".", overwrite: bool = False
    ) -> Path:
        """Download the output folder ``output_name`` into ``<local_path>/<output_name>``.

        Returns that folder. Refuses to write into an existing folder unless ``overwrite``.
        """
        target = Path(local_path) / output_name
        if target.exists() and not overwrite:
            raise StudioError(f"{target} exists; pass overwrite=True to replace its files")
        response = self.pipeline_run._http.get(
            f"{self._path}/outputs/{quote(output_name)}", raw=True
        )
        with response, tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spooled:
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                spooled.write(chunk)
            target.mkdir(parents=True, exist_ok=True)
            _safe_extract(spooled, target)
        return target


@dataclass
class RunComparison:
    """Runs side by side, as ``PipelineRun.compare`` returns them.

    ``parameters`` and ``metrics`` map each name to one value per run, in the order of
    ``runs`` (``None`` where a run has none; a metric logged several times is the list of its
    values). ``differing`` names the parameters and metrics whose values are not all equal;
    ``reused`` maps a metric name to, per run, whether a reused step carried it.
    """

    runs: list[PipelineRun]
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    differing: set[str] = field(default_factory=set)
    reused: dict[str, list[bool]] = field(default_factory=dict)


class PipelineRun:
    """One execution of a pipeline: follow it, read its steps and metrics, cancel or publish it.

    Returned by ``Experiment.submit``, ``PublishedPipeline.submit`` and
    ``PipelineEndpoint.submit``; ``PipelineRun(workspace, run_id)`` attaches to an existing run.
    """

    def __init__(
        self, workspace: Workspace, run_id: str, details: dict[str, Any] | None = None
    ) -> None:
        self.workspace = workspace
        self._http = workspace._http
        self.id = str(run_id)
        self._details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"PipelineRun(id={self.id!r}, status={self._details.get('Status')!r})"

    def _repr_html_(self) -> str:
        if not self._details.get("RunUrl"):
            try:
                self._refresh()
            except StudioError:
                pass  # shown without a status or link rather than not at all
        cells = {
            "Experiment": str(self._details.get("ExperimentName") or ""),
            "Id": self.id,
            "Status": self.status,
        }
        return html_table(cells, str(self._details.get("RunUrl") or ""))

    @property
    def status(self) -> str:
        """The status as last fetched (see :meth:`get_status` for a fresh one)."""
        return str(self._details.get("Status", ""))

    def _refresh(self) -> dict[str, Any]:
        self._details = self._http.get(f"/runs/{self.id}")
        return self._details

    def _fetch_steps(self) -> list[dict[str, Any]]:
        """Every step of the run, following the server's pages (a run may have thousands)."""
        steps: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            answer = self._http.get(f"/runs/{self.id}/steps", params=params)
            steps += answer["Items"]
            if not answer.get("NextCursor"):
                return steps
            params["cursor"] = answer["NextCursor"]

    def get_status(self) -> str:
        """Fetch and return the run's status: NotStarted, Queued, Running, Finished, Failed,
        Canceling or Canceled."""
        return str(self._refresh().get("Status", ""))

    def get_details(self) -> dict[str, Any]:
        """Fetch and return the run as the server describes it."""
        return dict(self._refresh())

    def get_steps(self) -> list[StepRun]:
        """The run's step runs, in pipeline order."""
        return [StepRun(self, step) for step in self._fetch_steps()]

    def find_step_run(self, name: str) -> list[StepRun]:
        """The step runs of the step called ``name`` (an empty list when there is none)."""
        return [step for step in self.get_steps() if step.name == name]

    @staticmethod
    def compare(workspace: Workspace, run_ids: list[str | int]) -> RunComparison:
        """Compare 2 to 10 runs of ``workspace``: their parameters and metrics side by side.

        Raises ``BadRequestError`` for fewer than 2 or more than 10 ids and ``NotFoundError``
        naming the ids that are not runs of the workspace::

            cmp = PipelineRun.compare(ws, [run_a.id, run_b.id])
            cmp.parameters["learning_rate"]   # [0.1, 0.01]
            "accuracy" in cmp.differing       # True when the runs' accuracies differ
        """
        ids = ",".join(str(run_id) for run_id in run_ids)
        answer = workspace._http.get("/runs/compare", params={"ids": ids})
        comparison = RunComparison(
            runs=[PipelineRun(workspace, run["Id"], run) for run in answer["Runs"]]
        )
        for row in answer["Parameters"]:
            comparison.parameters[row["Name"]] = row["Values"]
            if row["Differs"]:
                comparison.differing.add(row["Name"])
        for row in answer["Metrics"]:
            comparison.metrics[row["Name"]] = row["Values"]
            comparison.reused[row["Name"]] = row["Reused"]
            if row["Differs"]:
                comparison.differing.add(row["Name"])
        return comparison

    def get_metrics(self) -> dict[str, Any]:
        """Every metric the run's steps logged, as ``{name: value}`` (a reused step's are
        those of the step it reused)."""
        return metrics_to_dict(self._http.get(f"/runs/{self.id}/metrics")["Items"])

    def get_tags(self) -> dict[str, Any]:
        """The run's tags: those given at submit and those set by steps with ``Run.tag``."""
        tags = dict(self._refresh().get("Tags") or {})
        for item in self._http.get(f"/runs/{self.id}/metrics")["Items"]:
            if item.get("Kind") == "tag":
                tags[item["Name"]] = item.get("Value")
        return tags

    def cancel(self) -> None:
        """Ask the server to cancel the run: running steps are stopped, pending ones skipped."""
        self._details = self._http.post(f"/runs/{self.id}/cancel", idempotent=True)

    def rerun(
        self,
        pipeline_parameters: dict[str, Any] | None = None,
        *,
        experiment_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> PipelineRun:
        """Rerun this Failed or Canceled run from its failed step and return the new run.

        The new run reuses every step this run finished whose inputs and parameters did not
        change and runs the rest; ``pipeline_parameters`` correct some parameters (the others
        keep this run's values). Raises ``ConflictError`` when this run did not fail or was
        not canceled::

            failed.rerun(pipeline_parameters={"learning_rate": 0.01}).wait_for_completion()
        """
        body: dict[str, Any] = {}
        if pipeline_parameters:
            body["ParameterAssignments"] = dict(pipeline_parameters)
        if experiment_name is not None:
            body["ExperimentName"] = experiment_name
        if description is not None:
            body["Description"] = description
        if tags is not None:
            body["Tags"] = dict(tags)
        answer = self._http.submit(f"/runs/{self.id}/rerun", body)
        return PipelineRun(self.workspace, answer["Id"], answer)

    def get_portal_url(self) -> str:
        """The URL of the run's page in the studio."""
        details = self._details if self._details.get("RunUrl") else self._refresh()
        return str(details.get("RunUrl", ""))

    def publish_pipeline(
        self,
        name: str,
        description: str,
        version: str,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish the pipeline this run executed, as it ran, with a name and version string."""
        from .published import PublishedPipeline

        body: dict[str, Any] = {"Name": name, "Description": description, "Version": version}
        if continue_on_step_failure is not None:
            body["ContinueOnStepFailure"] = continue_on_step_failure
        return PublishedPipeline(
            self.workspace, self._http.post(f"/runs/{self.id}/publish", json=body)
        )

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: float | None = None,
        raise_on_error: bool = True,
        *,
        poll_seconds: float = 1.0,
        stream: TextIO | None = None,
    ) -> str:
        """Wait until the run ends and return its final status.

        With ``show_output`` it prints each status change of the run and its steps and streams
        each step's log as it is written (to ``stream``, default stdout), flushing each piece
        at once and writing only whole lines of its own, so a Jupyter cell shows the log as it
        comes just as a terminal does. Raises
        :class:`RunTimeoutError` after ``timeout_seconds``, and :class:`RunFailedError` when the
        run ends Failed and ``raise_on_error`` is true.
        """
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        # sys.stdout is looked up now: Jupyter gives each cell its own.
        follower = _LogFollower(self, stream or sys.stdout) if show_output else None
        if follower:
            follower.line(f"PipelineRunId: {self.id}")
        last_status = None
        while True:
            status = self.get_status()
            if follower and status != last_status:
                if last_status is None and self._details.get("RunUrl"):
                    follower.line(f"Link to the studio: {self._details['RunUrl']}")
                follower.line(f"PipelineRun status: {status}")
            last_status = status
            if follower:
                follower.poll(drain=status in TERMINAL_STATUSES)
            if status in TERMINAL_STATUSES:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise RunTimeoutError(
                    f"Run {self.id} is still {status} after {timeout_seconds} seconds"
                )
            time.sleep(poll_seconds)
        if follower:
            follower.line(f"PipelineRun {self.id} ended {status}")
        if status == "Failed" and raise_on_error:
            raise RunFailedError(self._failure_message(), details=self._failed_steps())
        return status

    def _failed_steps(self) -> list[dict[str, str]]:
        return [
            {"field": step.get("Name", ""), "message": step.get("FailureReason") or "failed"}
            for step in self._fetch_steps()
            if step.get("Status") == "Failed"
        ]

    def _failure_message(self) -> str:
        reason = self._details.get("Error") or "a step failed"
        return f"Run {self.id} failed: {reason}"


class _LogFollower:
    """Prints step status changes and new log bytes while a run is waited for.

    Every piece is flushed as soon as it is written (a notebook shows only what was flushed),
    and its own lines start on a line of their own even after a log chunk that ended mid-line.
    """

    def __init__(self, run: PipelineRun, out: TextIO) -> None:
        self.run = run
        self.out = out
        self.mid_line = False
        self.statuses: dict[str, str] = {}
        self.offsets: dict[str, int] = {}
        self.done: set[str] = set()

    def line(self, text: str) -> None:
        """Write ``text`` as a line of its own."""
        self.write(("\n" if self.mid_line else "") + text + "\n")

    def write(self, text: str) -> None:
        """Write ``text`` as it is and flush it."""
        self.out.write(text)
        self.out.flush()
        self.mid_line = not text.endswith("\n")

    def poll(self, drain: bool) -> None:
        for step in self.run.get_steps():
            if self.statuses.get(step.id) != step.status:
                self.statuses[step.id] = step.status
                self.line(f"StepRun({step.name}) status: {step.status}")
            if step.status in WAITING_STATUSES or step.id in self.done:
                continue
            self._print_new_log(step, drain=drain or step.status in TERMINAL_STATUSES)

    def _print_new_log(self, step: StepRun, drain: bool) -> None:
        # A finished step's log is read to its end; a running one's as far as written so far.
        for _ in range(1000):
            offset = self.offsets.get(step.id, 0)
            chunk = step.read_log(offset)
            content = chunk.get("Content") or ""
            if content:
                if offset == 0:
                    self.line(f"--- StepRun({step.name}) log ---")
                self.write(content)
            next_offset = int(chunk.get("NextOffset", offset))
            self.offsets[step.id] = next_offset
            if chunk.get("Complete"):
                self.done.add(step.id)
                return
            if not drain or next_offset <= offset:
                return
