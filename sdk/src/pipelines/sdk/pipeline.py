"""A pipeline: steps joined by data and ``run_after``, checked here and by the server."""

from __future__ import annotations

import json
from collections import Counter, deque
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import BadRequestError, StudioError, ValidationError
from .published import PublishedPipeline
from .snapshots import Snapshot, build_snapshot
from .steps import FanOut, PipelineData, PipelineParameter, PythonScriptStep

if TYPE_CHECKING:
    from .workspace import Workspace


class Pipeline:
    """A graph of :class:`PythonScriptStep` to run in ``workspace``.

    Steps that write the inputs of the given steps, and steps named in ``run_after``, are taken
    in even when not listed; a :class:`FanOut` in ``steps`` stands for all its copies. Submit it
    with ``Experiment(ws, name).submit(pipeline)`` or publish it with :meth:`publish`.
    """

    def __init__(
        self,
        workspace: Workspace,
        steps: list[PythonScriptStep | FanOut],
        description: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.description = description or ""
        self._given_steps: list[PythonScriptStep] = []
        for item in steps or []:
            if isinstance(item, FanOut):
                self._given_steps += item.steps
            else:
                self._given_steps.append(item)
        # (graph as canonical JSON, draft pipeline id) of the last draft created on the server.
        self._draft: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Pipeline(steps={[step.name for step in self.steps]!r})"

    @property
    def steps(self) -> list[PythonScriptStep]:
        """Every step of the pipeline: those given and the ones they depend on."""
        ordered: list[PythonScriptStep] = []
        seen: set[int] = set()
        pending = deque(self._given_steps)
        while pending:
            step = pending.popleft()
            if id(step) not in seen:
                seen.add(id(step))
                ordered.append(step)
                pending.extend(step.upstream())
        return ordered

    def _problems(self, snapshots: dict[str, Snapshot]) -> list[str]:
        steps = self.steps
        problems: list[str] = []
        if not steps:
            return ["A pipeline needs at least one step"]
        names = Counter(step.name for step in steps)
        problems += [f"Two steps are named {name!r}" for name, n in sorted(names.items()) if n > 1]
        problems += [
            f"Step {step.name!r} was fanned out into {len(step._fanned_out)} copies: use its "
            f"FanOut (steps {step.name}[0]…) in its place, in steps and run_after"
            for step in steps
            if step._fanned_out is not None
        ]
        problems += _data_problems(steps)
        problems += _parameter_problems(steps)
        problems += _cycle_problems(steps)
        for step in steps:
            script = PurePosixPath(step.script_name)
            if script.is_absolute() or ".." in script.parts:
                problems.append(
                    f"Step {step.name!r}: script_name {step.script_name!r} must be a path inside "
                    f"its source_directory"
                )
            elif step.script_name not in snapshots[step.source_directory].files:
                problems.append(
                    f"Step {step.name!r}: script {step.script_name!r} is not in source_directory "
                    f"{step.source_directory!r} (or is ignored by .studioignore)"
                )
        return problems

    def _snapshots(self) -> dict[str, Snapshot]:
        found: dict[str, Snapshot] = {}
        for step in self.steps:
            if step.source_directory not in found:
                found[step.source_directory] = build_snapshot(step.source_directory)
        return found

    def _graph(self, snapshots: dict[str, Snapshot]) -> dict[str, Any]:
        parameters: dict[str, PipelineParameter] = {}
        for step in self.steps:
            for parameter in step.parameters:
                parameters.setdefault(parameter.name, parameter)
        return {
            "parameters": [parameter.to_graph() for parameter in parameters.values()],
            "steps": [
                step.to_graph(snapshots[step.source_directory].sha256) for step in self.steps
            ],
        }

    def _checked(self) -> tuple[dict[str, Any], dict[str, Snapshot]]:
        snapshots = self._snapshots()
        problems = self._problems(snapshots)
        if problems:
            raise ValidationError("The pipeline is not valid", details=problems)
        return self._graph(snapshots), snapshots

    def to_graph(self) -> dict[str, Any]:
        """The graph document sent to the server (snapshots are hashed, not uploaded).

        Raises :class:`ValidationError` listing every problem found on the client side.
        """
        return self._checked()[0]

    def _create_draft(self, name: str, *, allow_reuse: bool = True) -> str:
        """Upload the snapshots and store the pipeline on the server once per graph; its id.

        ``allow_reuse=False`` turns reuse off for every step (``regenerate_outputs``).
        """
        graph, snapshots = self._checked()
        if not allow_reuse:
            for entry in graph["steps"]:
                entry["allow_reuse"] = False
        canonical = json.dumps(graph, sort_keys=True)
        if self._draft and self._draft[0] == canonical:
            return self._draft[1]
        for snapshot in snapshots.values():
            self.workspace.upload_snapshot(snapshot)
        answer = self.workspace._http.post(
            "/pipelines",
            json={"Name": name[:255], "Description": self.description, "Graph": graph},
            idempotent=True,  # a repeated draft is harmless: nothing runs from it by itself
        )
        self._draft = (canonical, str(answer["Id"]))
        return self._draft[1]

    def validate(self) -> list[str]:
        """Check the pipeline here, then on the server; return the problems (empty when valid).

        Client side: duplicate step names, data read but never written or written twice, data
        in arguments not declared as input or output, clashing parameters, cycles, scripts
        missing from their source directory. The server then checks the graph again (compute
        targets, scripts in the uploaded snapshots). Nothing runs.
        """
        try:
            self._create_draft(self._default_name())
        except ValidationError as exc:
            return [str(item) for item in exc.details]
        except BadRequestError as exc:
            # The details name each problem; the message only sums them up.
            problems = [
                f"{item.get('field')}: {item.get('message')}"
                if isinstance(item, dict)
                else str(item)
                for item in exc.details
            ]
            return problems or [exc.message]
        return []

    def publish(
        self,
        name: str,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish the pipeline as it is now, under ``name`` with a version string."""
        if not name:
            raise StudioError("publish needs a name")
        pipeline_id = self._create_draft(name)
        body: dict[str, Any] = {
            "Name": name,
            "Description": description if description is not None else self.description,
            "Version": version or "",
        }
        if continue_on_step_failure is not None:
            body["ContinueOnStepFailure"] = continue_on_step_failure
        answer = self.workspace._http.post(f"/pipelines/{pipeline_id}/publish", json=body)
        return PublishedPipeline(self.workspace, answer)

    def _default_name(self) -> str:
        return ", ".join(step.name for step in self.steps) or "Pipeline"


def _data_problems(steps: list[PythonScriptStep]) -> list[str]:
    problems = []
    writers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    fanned_out: dict[str, str] = {}  # data of a step that was fanned out: the step's name
    for step in steps:
        for data in step.outputs:
            writers.setdefault(data.name, []).append(step.name)
        for data in step.inputs:
            readers.setdefault(data.name, []).append(step.name)
            if data._fanned_out is not None:
                fanned_out[data.name] = data._fanned_out.name
        declared = {data.name for data in step.inputs + step.outputs}
        for value in step.arguments:
            if isinstance(value, PipelineData) and value.name not in declared:
                problems.append(
                    f"Step {step.name!r}: argument {value.name!r} must also be listed in the "
                    f"step's inputs or outputs"
                )
    for name, steps_writing in sorted(writers.items()):
        if len(steps_writing) > 1:
            problems.append(f"Data {name!r} is written by more than one step: {steps_writing}")
    for name, steps_reading in sorted(readers.items()):
        if name in writers:
            continue
        if name in fanned_out:
            problems.append(
                f"Data {name!r} is read by {steps_reading[:3]} but step {fanned_out[name]!r} "
                f"that wrote it was fanned out: each copy writes its own, read them with "
                f"FanOut.outputs({name})"
            )
        else:
            problems.append(f"Data {name!r} is read by {steps_reading} but no step writes it")
    return problems


def _parameter_problems(steps: list[PythonScriptStep]) -> list[str]:
    seen: dict[str, PipelineParameter] = {}
    problems = []
    for step in steps:
        for parameter in step.parameters:
            first = seen.setdefault(parameter.name, parameter)
            if first is not parameter and first.to_graph() != parameter.to_graph():
                problems.append(
                    f"Parameter {parameter.name!r} is defined twice with different defaults "
                    f"({first.default_value!r} and {parameter.default_value!r})"
                )
    return problems


def _cycle_problems(steps: list[PythonScriptStep]) -> list[str]:
    state: dict[int, str] = {}  # id(step) -> "visiting" | "done"

    def visit(step: PythonScriptStep, path: list[str]) -> str | None:
        if state.get(id(step)) == "done":
            return None
        if state.get(id(step)) == "visiting":
            return " -> ".join([*path, step.name])
        state[id(step)] = "visiting"
        for before in step.upstream():
            found = visit(before, [*path, step.name])
            if found:
                return found
        state[id(step)] = "done"
        return None

    for step in steps:
        cycle = visit(step, [])
        if cycle:
            return [f"The steps form a cycle: {cycle}"]
    return []
