"""The pipeline graph document: validation, step order and argv rendering.

The format is described in docs/CONTRACTS.md. ``validate_graph`` checks a graph before
anything is stored and returns it normalised (every optional key filled in), so the
engine never has to guess. ``resolve_parameters`` (from :mod:`pipelines.parameters`,
re-exported here) type-checks a run's assignments against the graph's parameters.
"""

from __future__ import annotations

import posixpath
import re
from collections import deque

from django.conf import settings

from core.errors import InvalidInput
from pipelines.models import SourceSnapshot
from pipelines.parameters import (
    MAX_ARGV_BYTES,
    MAX_VALUE_BYTES,
    PARAMETER_TYPES,
    ParameterError,
    coerce_parameter,
    oversized_steps,
    parameter_type_of,
    resolve_parameters,
)

__all__ = [
    "GraphError",
    "GraphPlan",
    "ParameterError",
    "render_argv",
    "resolve_parameters",
    "safe_relative_path",
    "step_order",
    "upstream_steps",
    "validate_graph",
]

# Data names become folder names and parameter names become argv values' keys.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DEFAULT_TIMEOUT_SECONDS = 24 * 3600
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600


class GraphError(InvalidInput):
    """The graph document breaks a rule; each detail names the step and field."""


def safe_relative_path(path) -> bool:
    """True when ``path`` is a relative POSIX path that stays inside its folder."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        return False
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return False
    normal = posixpath.normpath(path)
    return normal != "." and not normal.startswith("../") and normal != ".."


class _Checker:
    """Collects every problem of one graph, then raises them together."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.details: list[dict] = []
        self.snapshot_files: dict[str, set[str]] = {}  # built once per snapshot, not per step

    def error(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def parameters(self, raw) -> list[dict]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.error("Graph.parameters", "expected a list of parameters")
            return []
        result, seen = [], set()
        for index, item in enumerate(raw):
            field = f"Graph.parameters[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                self.error(field, "expected an object with a name and a default_value")
                continue
            name = item["name"]
            if not NAME_PATTERN.fullmatch(name):
                self.error(f"{field}.name", f"parameter name {name!r} is not a valid name")
                continue
            if name in seen:
                self.error(f"{field}.name", f"parameter {name!r} is declared twice")
                continue
            seen.add(name)
            default = item.get("default_value")
            type_name = item.get("type") or parameter_type_of(default)
            if type_name not in PARAMETER_TYPES:
                self.error(
                    f"{field}.type",
                    f"parameter {name!r} needs an int, float, str or bool default_value",
                )
                continue
            try:
                default = coerce_parameter(type_name, default)
            except ValueError as error:
                self.error(f"{field}.default_value", f"parameter {name!r}: {error}")
                continue
            result.append({"name": name, "type": type_name, "default_value": default})
        return result

    def names(self, step_name: str, field: str, raw, what: str) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
            self.error(field, f"step {step_name!r}: {what} must be a list of names")
            return []
        for name in raw:
            if what != "run_after" and not NAME_PATTERN.fullmatch(name):
                self.error(field, f"step {step_name!r}: {name!r} is not a valid data name")
        if len(set(raw)) != len(raw):
            self.error(field, f"step {step_name!r}: {what} lists a name twice")
        return list(raw)

    def arguments(self, step: dict, field: str, raw, parameters: set[str]) -> list:
        name = step["name"]
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.error(field, f"step {name!r}: arguments must be a list")
            return []
        data_names = set(step["inputs"]) | set(step["outputs"])
        for index, item in enumerate(raw):
            where = f"{field}[{index}]"
            if isinstance(item, bool | int | float):
                continue
            if isinstance(item, str):
                if "\x00" in item:
                    self.error(where, f"step {name!r}: an argument may not contain NUL")
                elif len(item.encode()) > MAX_VALUE_BYTES:
                    self.error(where, f"step {name!r}: an argument is over {MAX_VALUE_BYTES} bytes")
                continue
            if isinstance(item, dict) and set(item) == {"parameter"}:
                if item["parameter"] not in parameters:
                    self.error(where, f"step {name!r}: unknown parameter {item['parameter']!r}")
                continue
            if isinstance(item, dict) and set(item) == {"data"}:
                if item["data"] not in data_names:
                    self.error(
                        where,
                        f"step {name!r}: data {item['data']!r} is not one of the "
                        "step's inputs or outputs",
                    )
                continue
            self.error(
                where,
                f"step {name!r}: an argument must be a string, a number, "
                '{"parameter": name} or {"data": name}',
            )
        return list(raw)

    def group(self, step: dict, field: str, group) -> None:
        """An optional label shared by parallel copies of a step (an SDK fan-out): kept, and
        drawn as one node on the run page; the engine runs each copy as any step."""
        if not isinstance(group, str) or not NAME_PATTERN.fullmatch(group):
            self.error(
                f"{field}.group",
                f"step {step['name']!r}: group must be a name of 1 to 128 letters, digits, "
                "'_', '.' or '-', not starting with '.' or '-'",
            )
            return
        step["group"] = group

    def script(self, step: dict, field: str, snapshots: dict) -> None:
        name, script = step["name"], step["script_name"]
        if not safe_relative_path(script):
            self.error(
                f"{field}.script_name",
                f"step {name!r}: script path {script!r} leaves "
                "the snapshot (absolute or ../ paths are not allowed)",
            )
            return
        snapshot = snapshots.get(step["snapshot"])
        if snapshot is None:
            self.error(
                f"{field}.snapshot",
                f"step {name!r}: unknown snapshot "
                f"{step['snapshot']!r} (upload the source folder first)",
            )
        elif posixpath.normpath(script) not in self.files_of(snapshot):
            self.error(
                f"{field}.script_name",
                f"step {name!r}: script {script!r} is not in snapshot {step['snapshot'][:12]}",
            )

    def files_of(self, snapshot) -> set[str]:
        files = self.snapshot_files.get(snapshot.sha256)
        if files is None:
            files = self.snapshot_files[snapshot.sha256] = set(snapshot.files)
        return files

    def step(self, index: int, raw, parameters: set[str], snapshots: dict) -> dict | None:
        field = f"Graph.steps[{index}]"
        if not isinstance(raw, dict):
            self.error(field, "expected a step object")
            return None
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            self.error(f"{field}.name", f"step {index} needs a name of 1 to 255 characters")
            return None
        script = raw.get("script_name")
        if not isinstance(script, str) or not script:
            self.error(f"{field}.script_name", f"step {name!r}: script_name is required")
            script = ""
        step = {
            "name": name,
            "script_name": script,
            "snapshot": raw.get("snapshot") if isinstance(raw.get("snapshot"), str) else "",
            "inputs": self.names(name, f"{field}.inputs", raw.get("inputs"), "inputs"),
            "outputs": self.names(name, f"{field}.outputs", raw.get("outputs"), "outputs"),
            "run_after": self.names(name, f"{field}.run_after", raw.get("run_after"), "run_after"),
            "compute_target": raw.get("compute_target") or settings.STUDIO_DEFAULT_COMPUTE_TARGET,
            "allow_reuse": raw.get("allow_reuse", True),
            "timeout_seconds": raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
        }
        step["arguments"] = self.arguments(
            step, f"{field}.arguments", raw.get("arguments"), parameters
        )
        if "group" in raw and raw["group"] is not None:
            self.group(step, field, raw["group"])
        if script:
            self.script(step, field, snapshots)
        if step["compute_target"] not in settings.STUDIO_COMPUTE_TARGETS:
            known = ", ".join(settings.STUDIO_COMPUTE_TARGETS)
            self.error(
                f"{field}.compute_target",
                f"step {name!r}: unknown compute target "
                f"{step['compute_target']!r} (known: {known})",
            )
        if not isinstance(step["allow_reuse"], bool):
            self.error(f"{field}.allow_reuse", f"step {name!r}: allow_reuse must be true/false")
        timeout = step["timeout_seconds"]
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not (0 < timeout <= MAX_TIMEOUT_SECONDS)
        ):
            self.error(
                f"{field}.timeout_seconds",
                f"step {name!r}: timeout_seconds must be a "
                f"number of seconds between 1 and {MAX_TIMEOUT_SECONDS}",
            )
        return step

    def edges(self, steps: list[dict]) -> None:
        writers: dict[str, str] = {}
        for step in steps:
            for data in step["outputs"]:
                if data in writers:
                    self.error(
                        "Graph.steps",
                        f"data {data!r} is written by step "
                        f"{writers[data]!r} and by step {step['name']!r}",
                    )
                writers.setdefault(data, step["name"])
        names = {s["name"] for s in steps}
        for step in steps:
            for data in step["inputs"]:
                if data not in writers:
                    self.error(
                        "Graph.steps",
                        f"step {step['name']!r} reads data {data!r} that no step writes",
                    )
                elif writers[data] == step["name"]:
                    self.error(
                        "Graph.steps", f"step {step['name']!r} reads its own output {data!r}"
                    )
            for other in step["run_after"]:
                if other not in names:
                    self.error(
                        "Graph.steps", f"step {step['name']!r} runs after unknown step {other!r}"
                    )


def render_argument(value) -> str:
    """One argv string for a literal or parameter value (booleans as True/False)."""
    return value if isinstance(value, str) else str(value)


def render_argv(arguments: list, parameters: dict, data_paths: dict | None = None) -> list[str]:
    """A step's arguments as argv strings: parameter references take the run's values and
    data references the folder paths in ``data_paths`` (or "{data:<name>}" without it)."""
    argv = []
    for item in arguments:
        if isinstance(item, dict) and "parameter" in item:
            argv.append(render_argument(parameters[item["parameter"]]))
        elif isinstance(item, dict) and "data" in item:
            name = item["data"]
            argv.append(str(data_paths[name]) if data_paths is not None else f"{{data:{name}}}")
        else:
            argv.append(render_argument(item))
    return argv


def upstream_steps(graph: dict) -> dict[str, set[str]]:
    """For each step name, the names of the steps it must wait for (data and run_after)."""
    writers = {data: s["name"] for s in graph["steps"] for data in s["outputs"]}
    return {
        s["name"]: {writers[d] for d in s["inputs"] if d in writers and writers[d] != s["name"]}
        | {o for o in s["run_after"] if o != s["name"]}
        for s in graph["steps"]
    }


def downstream_steps(graph: dict, upstream: dict[str, set[str]]) -> dict[str, list[str]]:
    """For each step name, the names of the steps that wait for it, in the graph's order."""
    downstream: dict[str, list[str]] = {s["name"]: [] for s in graph["steps"]}
    for step in graph["steps"]:
        for name in upstream[step["name"]]:
            if name in downstream:
                downstream[name].append(step["name"])
    return downstream


def step_order(
    graph: dict,
    upstream: dict[str, set[str]] | None = None,
    downstream: dict[str, list[str]] | None = None,
) -> list[str]:
    """Step names in an order where every step comes after the steps it waits for: the
    steps that wait for nothing in the graph's order, then each step as soon as the last
    step it waits for is placed (time linear in steps and edges). ``upstream`` and
    ``downstream`` are the graph's own, when the caller has them already.

    Raises GraphError naming the steps that form a cycle.
    """
    upstream = upstream if upstream is not None else upstream_steps(graph)
    downstream = downstream if downstream is not None else downstream_steps(graph, upstream)
    waiting = {name: len(deps) for name, deps in upstream.items()}
    ready = deque(s["name"] for s in graph["steps"] if not waiting[s["name"]])
    order = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for other in downstream[name]:
            waiting[other] -= 1
            if not waiting[other]:
                ready.append(other)
    if len(order) < len(waiting):
        placed = set(order)
        stuck = ", ".join(repr(n) for n in waiting if n not in placed)
        raise GraphError(
            f"The steps form a cycle: {stuck}.",
            [{"field": "Graph.steps", "message": f"steps {stuck} wait for each other (a cycle)"}],
        )
    return order


class GraphPlan:
    """What the engine looks up in a run's graph, indexed once: each step's spec by name,
    the steps it waits for and the steps waiting for it, the writer of each data item, and
    each step's place in ``step_order`` (its ``StepRun.position``)."""

    def __init__(self, graph: dict):
        self.specs: dict[str, dict] = {s["name"]: s for s in graph["steps"]}
        self.writers: dict[str, str] = {
            data: s["name"] for s in graph["steps"] for data in s["outputs"]
        }
        self.upstream = upstream_steps(graph)
        self.downstream = downstream_steps(graph, self.upstream)
        order = step_order(graph, self.upstream, self.downstream)
        self.position = {name: index for index, name in enumerate(order)}

    def producers(self, name: str) -> set[str]:
        """The steps whose outputs step ``name`` reads."""
        return {self.writers[d] for d in self.specs[name]["inputs"] if d in self.writers}


def validate_graph(graph, workspace) -> dict:
    """The graph checked against every rule and normalised; raises GraphError.

    Rules: at least one step; unique step names; each data item written by exactly one
    step and read only if written; parameter references declared; known compute targets;
    each script inside its snapshot (no absolute or ../ paths) and present in the
    workspace's snapshot; no cycle. Every detail names the step it concerns.
    """
    if not isinstance(graph, dict):
        raise GraphError(
            "The graph must be an object with parameters and steps.",
            [{"field": "Graph", "message": "expected an object"}],
        )
    checker = _Checker(workspace)
    parameters = checker.parameters(graph.get("parameters"))
    raw_steps = graph.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise GraphError(
            "A pipeline needs at least one step.",
            [*checker.details, {"field": "Graph.steps", "message": "no steps"}],
        )
    limit = settings.STUDIO_MAX_STEPS
    if len(raw_steps) > limit:
        raise GraphError(
            f"A pipeline has at most {limit} steps (STUDIO_MAX_STEPS); this one has "
            f"{len(raw_steps)}.",
            [
                {
                    "field": "Graph.steps",
                    "message": f"{len(raw_steps)} steps, over the limit of {limit}",
                }
            ],
        )
    hashes = {s.get("snapshot") for s in raw_steps if isinstance(s, dict)}
    snapshots = {
        s.sha256: s
        for s in SourceSnapshot.objects.filter(
            workspace=workspace, sha256__in=[h for h in hashes if isinstance(h, str)]
        ).only("sha256", "files")
    }
    parameter_names = {p["name"] for p in parameters}
    steps, seen = [], set()
    for index, raw in enumerate(raw_steps):
        step = checker.step(index, raw, parameter_names, snapshots)
        if step is None:
            continue
        if step["name"] in seen:
            checker.error(f"Graph.steps[{index}].name", f"step name {step['name']!r} is used twice")
            continue
        seen.add(step["name"])
        steps.append(step)
    checker.edges(steps)
    defaults = {p["name"]: p["default_value"] for p in parameters}
    for name in oversized_steps({"steps": steps}, defaults):
        checker.error("Graph.steps", f"step {name!r}: arguments over {MAX_ARGV_BYTES} bytes in all")
    if checker.details:
        first = checker.details[0]["message"]
        more = len(checker.details) - 1
        raise GraphError(
            f"Invalid pipeline: {first}" + (f" (and {more} more)" if more else ""), checker.details
        )
    normalised = {"parameters": parameters, "steps": steps}
    step_order(normalised)
    return normalised
