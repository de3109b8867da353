"""The REST API's one error shape: ``{"error": {"code", "message", "details"}}``.

Domain code and API handlers raise the errors of :mod:`core.errors`; the handlers installed by
:func:`install_error_handlers` turn them, ninja's own errors and Django's 404/403 into that shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import StudioError

logger = logging.getLogger(__name__)

# Where ninja puts a failed value: ("body", "<param name>", "Field", …), ("query", "name"), ….
_LOCATION_PREFIXES = {"body", "query", "path", "header", "cookie", "form", "file"}


class ErrorDetail(Schema):
    """One thing wrong with the request: the field (dotted, e.g.
    ``ParameterAssignments.epochs``; empty when it is the request as a whole) and why."""

    field: str = ""
    message: str


class ErrorBody(Schema):
    code: str = Field(..., description="A stable code, e.g. invalid, not_found, conflict.")
    message: str
    details: list[ErrorDetail] = []


class Error(Schema):
    """What every 4xx/5xx response of the API carries."""

    error: ErrorBody


# The error responses routes declare in the OpenAPI document.
READ_ERRORS = {401: Error, 404: Error}
WRITE_ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 413: Error, 415: Error}


def error_body(code: str, message: str, details: list | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _field_name(loc: tuple | list) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
        # Body fields come as ("body", "<handler argument>", "Field"); drop the argument name.
        if loc[0] == "body" and len(parts) > 1:
            parts = parts[1:]
    return ".".join(parts)


def validation_details(errors: list[dict]) -> list[dict]:
    """ninja/pydantic errors as ``[{"field": "ExperimentName", "message": ...}]``."""
    details = []
    for error in errors:
        message = str(error.get("msg", "is not valid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        details.append({"field": _field_name(error.get("loc", ())), "message": message})
    return details


def install_error_handlers(api) -> None:
    """Make every error of ``api`` answer in the standard shape."""

    def respond(request, status: int, code: str, message: str, details=None, headers=None):
        response = api.create_response(request, error_body(code, message, details), status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(StudioError)
    def on_studio_error(request, exc: StudioError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return respond(request, exc.status, exc.code, exc.message, exc.details, headers)

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request, exc):
        message = (
            "This token is not valid (unknown, expired or revoked)."
            if request.headers.get("Authorization")
            else "Send an API token: 'Authorization: Bearer <token>'."
        )
        return respond(
            request, 401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"}
        )

    @api.exception_handler(ValidationError)
    def on_validation_error(request, exc: ValidationError):
        details = validation_details(exc.errors)
        fields = ", ".join(sorted({d["field"] for d in details if d["field"]}))
        message = f"Invalid input: {fields}." if fields else "Invalid input."
        return respond(request, 400, "invalid", message, details)

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        code = {400: "invalid", 403: "forbidden", 404: "not_found", 429: "throttled"}.get(
            exc.status_code, "error"
        )
        return respond(request, exc.status_code, code, str(exc))

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return respond(request, 404, "not_found", str(exc) or "Not found.")

    @api.exception_handler(PermissionDenied)
    def on_forbidden(request, exc):
        return respond(request, 403, "forbidden", str(exc) or "Forbidden.")

    @api.exception_handler(Exception)
    def on_unexpected(request, exc):
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return respond(request, 500, "internal", "Something went wrong on our side.")
