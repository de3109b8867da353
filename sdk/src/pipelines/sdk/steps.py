"""The building blocks of a pipeline: parameters, intermediate data and Python script steps."""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any

from .errors import ValidationError

PARAMETER_TYPES: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}


class PipelineParameter:
    """A named run-time argument with a default; the default's type is the parameter's type.

    Put it in a step's ``arguments``; a run's ``pipeline_parameters`` (or a REST caller's
    ``ParameterAssignments``) override the default::

        param = PipelineParameter(name="pipeline_arg", default_value=10)
    """

    def __init__(self, name: str, default_value: int | float | str | bool) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError("PipelineParameter needs a non-empty name")
        if type(default_value) not in PARAMETER_TYPES:
            raise ValidationError(
                f"PipelineParameter {name!r}: default_value must be an int, float, str or bool, "
                f"not {type(default_value).__name__}"
            )
        self.name = name
        self.default_value = default_value

    @property
    def type(self) -> str:
        """``"int"``, ``"float"``, ``"str"`` or ``"bool"``."""
        return PARAMETER_TYPES[type(self.default_value)]

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"

    def to_graph(self) -> dict[str, Any]:
        """This parameter as an entry of the graph document's ``parameters``."""
        return {"name": self.name, "type": self.type, "default_value": self.default_value}


class PipelineData:
    """Intermediate data: a folder one step writes (``outputs``) and others read (``inputs``).

    In ``arguments`` it becomes the folder's path at run time. A pipeline built from a step
    that reads it also takes in the step that writes it.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError("PipelineData needs a non-empty name")
        self.name = name
        self._producers: list[PythonScriptStep] = []

    def __repr__(self) -> str:
        return f"PipelineData(name={self.name!r})"


def _argument_to_graph(step_name: str, value: Any) -> Any:
    if isinstance(value, PipelineParameter):
        return {"parameter": value.name}
    if isinstance(value, PipelineData):
        return {"data": value.name}
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ValidationError(
        f"Step {step_name!r}: argument {value!r} is a {type(value).__name__}; use str, int, "
        f"float, bool, PipelineParameter or PipelineData"
    )


def _data_list(step_name: str, role: str, items: list[Any] | None) -> list[PipelineData]:
    result = []
    for item in items or []:
        if not isinstance(item, PipelineData):
            raise ValidationError(
                f"Step {step_name!r}: {role} must be PipelineData, got {type(item).__name__}"
            )
        result.append(item)
    return result


class PythonScriptStep:
    """A step that runs ``python <script_name> <arguments...>`` from a source snapshot.

    Args:
        script_name: the script, relative to ``source_directory``.
        name: the step's name, unique in the pipeline (default: the script name without
            ``.py``).
        arguments: an argv list of literals, :class:`PipelineParameter` and
            :class:`PipelineData` (which become folder paths). Never passed through a shell.
        inputs: the :class:`PipelineData` this step reads.
        outputs: the :class:`PipelineData` this step writes.
        compute_target: the compute target (queue) name, e.g. ``"cpu"``; default: the server's.
            An object with a ``name`` attribute is accepted too.
        source_directory: the folder snapshotted for the step (default: the current folder).
        allow_reuse: reuse an earlier identical step's outputs instead of running again.
        params: not supported (the cloud SDK passed these as environment variables); pass
            values in ``arguments`` instead.
        timeout_seconds: kill the step after this long (default: the server's, one hour).
    """

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: list[Any] | None = None,
        inputs: list[PipelineData] | None = None,
        outputs: list[PipelineData] | None = None,
        compute_target: Any = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        params: dict[str, Any] | None = None,
        timeout_seconds: int | None = None,
    ) -> None:
        if not isinstance(script_name, str) or not script_name:
            raise ValidationError("PythonScriptStep needs a script_name")
        self.script_name = PurePosixPath(script_name.replace(os.sep, "/")).as_posix()
        self.name = name or PurePosixPath(self.script_name).stem
        if params:
            raise ValidationError(
                f"Step {self.name!r}: params (environment variables) are not supported; pass "
                f"the values in arguments, e.g. ['--{next(iter(params))}', value]"
            )
        self.arguments = list(arguments or [])
        self._graph_arguments = [_argument_to_graph(self.name, value) for value in self.arguments]
        self.inputs = _data_list(self.name, "inputs", inputs)
        self.outputs = _data_list(self.name, "outputs", outputs)
        self.compute_target = getattr(compute_target, "name", compute_target)
        if self.compute_target is not None and not isinstance(self.compute_target, str):
            raise ValidationError(f"Step {self.name!r}: compute_target must be a name")
        self.source_directory = os.fspath(source_directory or os.getcwd())
        self.allow_reuse = bool(allow_reuse)
        self.timeout_seconds = timeout_seconds
        self._run_after: list[PythonScriptStep] = []
        for data in self.outputs:
            data._producers.append(self)

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"

    def run_after(self, step: PythonScriptStep) -> None:
        """Run this step only after ``step`` has finished (for steps without a data link)."""
        if not isinstance(step, PythonScriptStep):
            raise ValidationError(f"Step {self.name!r}: run_after needs a step, got {step!r}")
        if step is self:
            raise ValidationError(f"Step {self.name!r} cannot run after itself")
        if step not in self._run_after:
            self._run_after.append(step)

    @property
    def parameters(self) -> list[PipelineParameter]:
        """The parameters used in this step's arguments."""
        return [value for value in self.arguments if isinstance(value, PipelineParameter)]

    def upstream(self) -> list[PythonScriptStep]:
        """The steps this one waits for: writers of its inputs and those given to run_after."""
        found = [producer for data in self.inputs for producer in data._producers]
        return found + self._run_after

    def to_graph(self, snapshot_sha256: str) -> dict[str, Any]:
        """This step as an entry of the graph document's ``steps``."""
        entry: dict[str, Any] = {
            "name": self.name,
            "script_name": self.script_name,
            "snapshot": snapshot_sha256,
            "arguments": list(self._graph_arguments),
            "inputs": [data.name for data in self.inputs],
            "outputs": [data.name for data in self.outputs],
            "allow_reuse": self.allow_reuse,
            "run_after": [step.name for step in self._run_after],
        }
        if self.compute_target:
            entry["compute_target"] = self.compute_target
        if self.timeout_seconds is not None:
            entry["timeout_seconds"] = self.timeout_seconds
        return entry
