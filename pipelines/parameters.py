"""Pipeline parameters: typed defaults and the type-checking of a run's assignments.

Re-exported by :mod:`pipelines.graph`, where docs/CONTRACTS.md names them.
"""

from __future__ import annotations

import math
import re

from core.errors import InvalidInput


class ParameterError(InvalidInput):
    """A parameter assignment is unknown or does not fit the parameter's type."""


PARAMETER_TYPES = {"int": int, "float": float, "str": str, "bool": bool}

# What the operating system can pass to a step: Linux takes one argv string of at most
# 128 KiB and argv with the environment of at most a quarter of the stack limit (2 MiB by
# default). Values are kept well under both, so a run accepted at submit can also start.
MAX_VALUE_BYTES = 64 * 1024
MAX_ARGV_BYTES = 1024 * 1024
# Integers are those a step's int64 libraries (numpy, pandas, databases) can hold too.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# What a data reference adds to argv: a folder path, at most PATH_MAX.
DATA_PATH_BYTES = 4096


def parameter_type_of(value) -> str | None:
    """The parameter type name of a default value ("int", "float", "str", "bool"), or None."""
    for name, python_type in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, python_type):
            return name
    return None


def coerce_parameter(type_name: str, value):
    """``value`` converted to ``type_name``, or ValueError saying what was expected.

    int accepts integers, integral floats (20.0) and integer strings ("20"), refuses
    "twenty", 2.5 and booleans. float accepts integers, floats and numeric strings (finite
    only). bool accepts true/false and the strings "true"/"false" (any case). str accepts
    strings, and numbers which become their decimal text (a JSON client sending 3 for a
    string parameter means "3"); booleans and NUL characters are refused. Values a step
    could not be started with are refused too: integers beyond 64 bits and strings over
    ``MAX_VALUE_BYTES`` in UTF-8.
    """
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise ValueError("expected a boolean: true or false")
    if isinstance(value, bool):
        raise ValueError(f"expected {_article(type_name)}, got a boolean")
    if type_name == "int":
        return _within_64_bits(_integer(value))
    if type_name == "float":
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise ValueError("expected a number") from None
        else:
            raise ValueError("expected a number")
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return number
    if type_name == "str":
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if "\x00" in value:
            raise ValueError("a string may not contain NUL characters")
        if len(value) > MAX_VALUE_BYTES or len(value.encode()) > MAX_VALUE_BYTES:
            raise ValueError(f"a string may be at most {MAX_VALUE_BYTES} bytes (UTF-8)")
        return value
    raise ValueError(f"unknown parameter type {type_name!r}")


def _integer(value) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        return int(value)
    raise ValueError("expected an integer")


def _within_64_bits(number: int) -> int:
    if not INT_MIN <= number <= INT_MAX:
        raise ValueError(f"expected an integer from {INT_MIN} to {INT_MAX} (64 bits)")
    return number


def argv_bytes(arguments: list, values: dict) -> int:
    """What a step's ``arguments`` take in argv with parameter ``values`` (each string and
    its NUL; a data reference counted as the longest path)."""
    total = 0
    for item in arguments:
        if isinstance(item, dict) and "parameter" in item:
            value = values.get(item["parameter"], "")
            text = value if isinstance(value, str) else str(value)
        elif isinstance(item, dict):
            total += DATA_PATH_BYTES + 1
            continue
        else:
            text = item if isinstance(item, str) else str(item)
        total += len(text.encode()) + 1
    return total


def oversized_steps(graph: dict, values: dict) -> list[str]:
    """The names of the steps whose arguments would exceed ``MAX_ARGV_BYTES``."""
    return [
        step["name"]
        for step in graph.get("steps", [])
        if argv_bytes(step.get("arguments") or [], values) > MAX_ARGV_BYTES
    ]


def _article(type_name: str) -> str:
    return {"int": "an integer", "float": "a number", "str": "a string"}.get(type_name, type_name)


def resolve_parameters(graph: dict, assignments) -> dict:
    """The run's parameter values: defaults overridden by type-checked ``assignments``.

    Raises ParameterError naming every unknown or ill-typed field as
    "ParameterAssignments.<name>" (values out of what a process can be given included), or
    "ParameterAssignments" when a step's arguments together would be too long to start it.
    """
    if assignments is None:
        assignments = {}
    if not isinstance(assignments, dict):
        raise ParameterError(
            "ParameterAssignments must be an object of parameter names to values.",
            [{"field": "ParameterAssignments", "message": "expected an object"}],
        )
    declared = {p["name"]: p for p in graph.get("parameters", [])}
    details = []
    resolved = {name: p["default_value"] for name, p in declared.items()}
    for name, value in assignments.items():
        field = f"ParameterAssignments.{name}"
        parameter = declared.get(name)
        if parameter is None:
            known = ", ".join(sorted(declared)) or "none"
            details.append(
                {"field": field, "message": f"unknown parameter {name!r} (known: {known})"}
            )
            continue
        try:
            resolved[name] = coerce_parameter(parameter["type"], value)
        except ValueError as error:
            details.append(
                {"field": field, "message": f"{error} for {parameter['type']} parameter {name!r}"}
            )
    if not details:
        details = [
            {
                "field": "ParameterAssignments",
                "message": f"step {name!r} would get more than {MAX_ARGV_BYTES} bytes of "
                "arguments, more than a process may be started with",
            }
            for name in oversized_steps(graph, resolved)
        ]
    if details:
        names = ", ".join(dict.fromkeys(d["field"] for d in details))
        raise ParameterError(f"Invalid parameter assignments: {names}.", details)
    return resolved
