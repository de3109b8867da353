"""The one error hierarchy of the domain and the API.

Domain functions raise these; they carry no HTTP of their own beyond ``status`` and ``code``,
which the API's handlers (:func:`studio.api_errors.install_error_handlers`) turn into the JSON
error shape ``{"error": {"code", "message", "details"}}`` and pages show beside their fields.
"""

from __future__ import annotations


class StudioError(Exception):
    """A refusal with a ``message`` and ``details`` (``[{"field": ..., "message": ...}]``)."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(StudioError):
    """Bad input (HTTP 400); ``details`` name each field that is wrong."""


class TooLarge(InvalidInput):
    """Input over a size limit (HTTP 413)."""

    status = 413
    code = "too_large"


class Forbidden(StudioError):
    """The caller's role does not allow the action (HTTP 403)."""

    status = 403
    code = "forbidden"


class NotFound(StudioError):
    """A named object or part of one does not exist, e.g. an endpoint version (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(StudioError):
    """The object's state forbids the action: disabled, or a name taken (HTTP 409)."""

    status = 409
    code = "conflict"


class ApiError(StudioError):
    """An error answered with an explicit ``status`` and ``code`` (401, 429, …), for API
    handlers whose refusal has no domain class above."""

    def __init__(self, status: int, code: str, message: str, details: list | None = None):
        super().__init__(message, details)
        self.status = status
        self.code = code
