"""The building blocks of a pipeline: parameters, intermediate data and Python script steps."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from .errors import ValidationError

PARAMETER_TYPES: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}
# The most copies one fan-out makes: the studio's default limit of steps per pipeline
# (``STUDIO_MAX_STEPS``); the server refuses a pipeline over its own limit.
MAX_FAN_OUT = 10_000
# How the server names groups and data (letters, digits, "_", "." and "-", up to 128).
GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


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
        self._fanned_out: FanOut | None = None  # written by a step that was fanned out

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
        # The fan-out this step is a copy of (its name), or the one it was turned into.
        self.group: str | None = None
        self._fanned_out: FanOut | None = None
        for data in self.outputs:
            data._producers.append(self)

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"

    def run_after(self, step: PythonScriptStep | FanOut) -> None:
        """Run this step only after ``step`` has finished (for steps without a data link);
        after a :class:`FanOut`, only once every one of its copies has finished."""
        if isinstance(step, FanOut):
            seen = {id(before) for before in self._run_after}
            self._run_after += [copy for copy in step.steps if id(copy) not in seen]
            return
        if not isinstance(step, PythonScriptStep):
            raise ValidationError(f"Step {self.name!r}: run_after needs a step, got {step!r}")
        if step is self:
            raise ValidationError(f"Step {self.name!r} cannot run after itself")
        if step not in self._run_after:
            self._run_after.append(step)

    def fan_out(self, over: list[Any], argument: str | None = None) -> FanOut:
        """Turn this step into one parallel copy per value of ``over`` (a parallel for).

        Copy ``i`` is a step of its own named ``"<name>[i]"``, with its own log and metrics,
        run with this step's arguments followed by ``argument`` and the value (or the value
        alone when ``argument`` is None); the run page draws the copies as one group named
        after this step. Each copy reads this step's inputs; each output becomes one folder
        per copy, named ``"<data>-i"``: read them with :meth:`FanOut.outputs`. Use the
        returned :class:`FanOut` in place of this step (in ``Pipeline(steps=...)`` or
        ``run_after``); this step itself is no longer part of any pipeline::

            shard = PythonScriptStep(script_name="score.py", name="score", inputs=[model],
                                     arguments=["--model", model], source_directory="src")
            scores = shard.fan_out(over=["2024-01", "2024-02", "2024-03"], argument="--month")
            report = PythonScriptStep(script_name="report.py", source_directory="src")
            report.run_after(scores)
            pipeline = Pipeline(ws, steps=[scores, report])

        Args:
            over: the values, one copy each: a list (or tuple or range) of 1 to
                ``MAX_FAN_OUT`` strings, numbers or booleans.
            argument: the option that precedes the value in each copy's arguments, e.g.
                ``"--shard"``; None to pass the value alone.

        Raises:
            ValidationError: ``over`` is not a list, is empty or too long, or holds a value
                that is not a string, number or boolean; or the step's name cannot name a
                group; or the step was fanned out already.
        """
        return FanOut(self, over, argument)

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
        if self.group:
            entry["group"] = self.group
        return entry


def _fan_out_value(step_name: str, index: int, value: Any) -> Any:
    where = f"Step {step_name!r}: fan_out value {index}"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{where} must be a finite number, not {value!r}")
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(f"{where} may not contain a NUL character")
    if not isinstance(value, str | int | float | os.PathLike):
        raise ValidationError(
            f"{where} is a {type(value).__name__}; use str, int, float or bool values"
        )
    return os.fspath(value) if isinstance(value, os.PathLike) else value


class FanOut:
    """Parallel copies of one step over a list of values: made by
    :meth:`PythonScriptStep.fan_out`, used in place of the step.

    Attributes:
        name: the group's name (the fanned-out step's), shown on the run page.
        values: the values, one per copy.
        steps: the copies, ordinary :class:`PythonScriptStep` named ``"<name>[i]"``.
    """

    def __init__(self, step: PythonScriptStep, over: list[Any], argument: str | None) -> None:
        name = step.name
        if step._fanned_out is not None or step.group is not None:
            raise ValidationError(f"Step {name!r} was fanned out already")
        if not isinstance(over, list | tuple | range):
            raise ValidationError(
                f"Step {name!r}: fan_out(over=...) needs a list of values, "
                f"not {type(over).__name__}"
            )
        if not over:
            raise ValidationError(f"Step {name!r}: fan_out(over=...) needs at least one value")
        if len(over) > MAX_FAN_OUT:
            raise ValidationError(
                f"Step {name!r}: fan_out makes at most {MAX_FAN_OUT:,} copies, not {len(over):,}"
            )
        if argument is not None and (
            not isinstance(argument, str) or not argument or "\x00" in argument
        ):
            raise ValidationError(
                f"Step {name!r}: fan_out(argument=...) must be a non-empty string or None"
            )
        if not GROUP_NAME.fullmatch(name):
            raise ValidationError(
                f"Step {name!r} cannot be fanned out under this name: the copies' group is "
                "named after the step, with 1 to 128 letters, digits, '_', '.' or '-' (not "
                "starting with '.' or '-'); give the step such a name"
            )
        self.name = name
        self.values = [_fan_out_value(name, i, value) for i, value in enumerate(over)]
        self.argument = argument
        self._outputs = {id(data): [] for data in step.outputs}
        self.steps: list[PythonScriptStep] = []
        for index, value in enumerate(self.values):
            own = {id(data): PipelineData(f"{data.name}-{index}") for data in step.outputs}
            for data in step.outputs:
                self._outputs[id(data)].append(own[id(data)])
            arguments = [
                own.get(id(item), item) if isinstance(item, PipelineData) else item
                for item in step.arguments
            ]
            arguments += [argument, value] if argument is not None else [value]
            copy = PythonScriptStep(
                script_name=step.script_name,
                name=f"{name}[{index}]",
                arguments=arguments,
                inputs=step.inputs,
                outputs=list(own.values()),
                compute_target=step.compute_target,
                source_directory=step.source_directory,
                allow_reuse=step.allow_reuse,
                timeout_seconds=step.timeout_seconds,
            )
            copy.group = name
            copy._run_after = list(step._run_after)
            self.steps.append(copy)
        # The step itself writes nothing now: its copies do.
        step._fanned_out = self
        for data in step.outputs:
            data._producers = [p for p in data._producers if p is not step]
            data._fanned_out = self
        self._step = step

    def __repr__(self) -> str:
        return f"FanOut(name={self.name!r}, copies={len(self.steps)})"

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[PythonScriptStep]:
        return iter(self.steps)

    def outputs(self, data: PipelineData) -> list[PipelineData]:
        """The copies' folders of ``data`` (an output of the fanned-out step), in the order
        of the values: put them in a later step's ``inputs`` and ``arguments``."""
        if not isinstance(data, PipelineData) or id(data) not in self._outputs:
            raise ValidationError(
                f"{data!r} is not an output of step {self.name!r}, the one fanned out"
            )
        return list(self._outputs[id(data)])
