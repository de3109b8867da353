"""Named types that the REST shapes of every app share, so the OpenAPI document names each
once (``ParameterAssignments``, ``ParameterValue``, ``MetricValue``) and ids have one type.

Ids are strings of digits everywhere in the document (paths, bodies and responses), as the
submit contract answers ``"Id": "42"``; handlers receive them as ``int``, and bodies also take
a bare JSON number for callers written before the document said so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema
from typing_extensions import TypeAliasType

from core.sql import MAX_ID

ID_PATTERN = r"^[0-9]{1,19}$"
ID_SCHEMA = {"type": "string", "pattern": ID_PATTERN}

# A row id: digits in the document, an int in the handler (at most MAX_ID; larger ones are
# simply not found).
Id = Annotated[int, Field(ge=0), WithJsonSchema(ID_SCHEMA)]
# A row id in a query filter, where an id no row can have is refused rather than not found.
RowId = Annotated[int, Field(ge=1, le=MAX_ID), WithJsonSchema(ID_SCHEMA)]

_SCALARS = [{"type": "integer"}, {"type": "number"}, {"type": "string"}, {"type": "boolean"}]

# A parameter's value: its type is the type of the parameter's default. Requests may carry
# any JSON here: the engine's own checks name each value that does not fit its parameter.
ParameterValue = TypeAliasType(
    "ParameterValue", Annotated[Any, WithJsonSchema({"anyOf": _SCALARS})]
)
ParameterAssignments = TypeAliasType("ParameterAssignments", dict[str, ParameterValue])

# What a step logged: a scalar (``log``), a list (``log_list``), a row of columns
# (``log_row``) or a tag's text.
MetricValue = TypeAliasType(
    "MetricValue",
    Annotated[
        Any,
        WithJsonSchema(
            {
                "anyOf": [
                    *_SCALARS,
                    {"type": "array", "items": {}},
                    {"type": "object", "additionalProperties": True},
                    {"type": "null"},
                ]
            }
        ),
    ],
)

# A parameter's type, named after the Python type of its default value.
ParameterType = TypeAliasType("ParameterType", Literal["int", "float", "str", "bool"])


def binary_response(media_type: str, description: str) -> dict:
    """``openapi_extra`` of a route whose 200 is a file: binary media types only (the file's
    own, then application/octet-stream, which every client generator streams as bytes), never
    JSON."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {media_type: binary, "application/octet-stream": binary}
    return {"responses": {"200": {"description": description, "content": content}}}
