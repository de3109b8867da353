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
    string parameter means "3"); booleans and NUL characters are refused.
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
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
            return int(value)
        raise ValueError("expected an integer")
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
        return value
    raise ValueError(f"unknown parameter type {type_name!r}")


def _article(type_name: str) -> str:
    return {"int": "an integer", "float": "a number", "str": "a string"}.get(type_name, type_name)


def resolve_parameters(graph: dict, assignments) -> dict:
    """The run's parameter values: defaults overridden by type-checked ``assignments``.

    Raises ParameterError naming every unknown or ill-typed field as
    "ParameterAssignments.<name>".
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
    if details:
        names = ", ".join(d["field"] for d in details)
        raise ParameterError(f"Invalid parameter assignments: {names}.", details)
    return resolved
