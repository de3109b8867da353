"""Request bodies of the REST API, checked before ninja parses them.

JSON bodies are at most ``STUDIO_MAX_REQUEST_BYTES`` (413; a new pipeline's graph, which may
hold thousands of steps: ``STUDIO_MAX_GRAPH_REQUEST_BYTES``), must be ``application/json``
(415), valid JSON (400) and, like the path and query parameters, free of text no database can
store: NUL characters and unpaired UTF-16 surrogates (400 naming the field). Only the snapshot
upload takes ``multipart/form-data``, up to ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated

from django.conf import settings
from django.utils import timezone
from ninja.parser import Parser
from pydantic import AfterValidator

from core.errors import ApiError

JSON = "application/json"
MULTIPART = "multipart/form-data"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PARSED = "_studio_json_body"


def request_problem(request) -> ApiError | None:
    """Why the request is refused before parsing, or None; a good JSON body is kept for the
    parser. The path and query parameters may not hold NUL characters either."""
    if _UNSTORABLE.search(request.path):
        return _unstorable("path")
    for name, values in request.GET.lists():
        if any(_UNSTORABLE.search(text) for text in [name, *values]):
            return _unstorable(name.encode("utf-8", "backslashreplace").decode())
    if request.method not in {"POST", "PUT", "PATCH"}:
        return None
    path = request.path.rstrip("/")
    upload = path.endswith("/snapshots")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if upload else settings.STUDIO_MAX_REQUEST_BYTES
    if request.method == "POST" and path.endswith("/pipelines"):
        limit = settings.STUDIO_MAX_GRAPH_REQUEST_BYTES
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return ApiError(400, "invalid", "The Content-Length header is not a number.")
    if length > limit:
        return _too_large(limit)
    if length == 0:
        return None
    content_type = request.content_type or ""
    expected = MULTIPART if upload else JSON
    if content_type != expected:
        return ApiError(
            415,
            "unsupported_media_type",
            f"Send the body as {expected} (got {content_type or 'no content type'}).",
        )
    if upload:
        return None
    if len(request.body) > limit:
        return _too_large(limit)
    try:
        data = json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        return ApiError(400, "invalid", f"The body is not valid JSON: {error}.")
    field = _unstorable_field(data)
    if field is not None:
        return _unstorable(field)
    setattr(request, _PARSED, data)
    return None


def _unstorable(field: str) -> ApiError:
    return ApiError(
        400,
        "invalid",
        f"{field} contains a NUL character or an unpaired surrogate.",
        [{"field": field, "message": "NUL characters and unpaired surrogates are refused"}],
    )


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"The request body is larger than {limit} bytes.")


def _unstorable_field(data) -> str | None:
    """The dotted path of the first string (key or value) that cannot be stored, or None."""
    pending = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{path}.{key}" if path else key
                if _UNSTORABLE.search(key):
                    return inner.encode("utf-8", "backslashreplace").decode()
                pending.append((inner, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


class CheckedJsonParser(Parser):
    """ninja's parser, reusing the JSON that :func:`request_problem` already parsed and checked."""

    def parse_body(self, request):
        if hasattr(request, _PARSED):
            return getattr(request, _PARSED)
        return super().parse_body(request)


def _storable_moment(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    try:
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


# Query parameters that the databases can compare: times (naive ones are UTC).
Moment = Annotated[datetime, AfterValidator(_storable_moment)]
