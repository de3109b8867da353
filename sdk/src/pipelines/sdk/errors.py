"""Exceptions of the SDK: every server error and every client-side refusal is a ``StudioError``.

The server answers errors as ``{"error": {"code", "message", "details"}}`` with a status code;
:func:`error_from_response` turns that into the matching subclass, so callers can catch
``NotFoundError`` or ``ConflictError`` rather than inspect numbers.
"""

from __future__ import annotations

from typing import Any


class StudioError(Exception):
    """An error reported by the studio server or found by the SDK before calling it.

    Attributes:
        status: the HTTP status code (``None`` when no response was received).
        code: the server's machine-readable error code, e.g. ``"not_found"``.
        message: the human-readable message.
        details: a list of ``{"field": ..., "message": ...}`` items naming what is wrong.
    """

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: list[Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code or self.default_code
        self.message = message
        self.details = list(details or [])
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = self.message
        if self.status is not None:
            text = f"{text} (HTTP {self.status})"
        for item in self.details:
            if isinstance(item, dict) and item.get("message"):
                field = item.get("field")
                text += f"\n  - {field}: {item['message']}" if field else f"\n  - {item['message']}"
            elif item:
                text += f"\n  - {item}"
        return text


class BadRequestError(StudioError):
    """The server refused the input (HTTP 400); ``details`` names the fields."""

    default_code = "bad_request"


class AuthenticationError(StudioError):
    """No token, or the token is wrong, expired or revoked (HTTP 401)."""

    default_code = "unauthorized"


class PermissionDeniedError(StudioError):
    """The token's role is too low for this call (HTTP 403)."""

    default_code = "forbidden"


class NotFoundError(StudioError):
    """The object does not exist or belongs to another workspace (HTTP 404)."""

    default_code = "not_found"


class ConflictError(StudioError):
    """The object is disabled or archived, or the change conflicts with its state (HTTP 409)."""

    default_code = "conflict"


class PayloadTooLargeError(StudioError):
    """A body or an upload is over the server's limit (HTTP 413)."""

    default_code = "too_large"


class ServerError(StudioError):
    """The server failed (HTTP 5xx)."""

    default_code = "server_error"


class StudioConnectionError(StudioError):
    """The server could not be reached, even after retrying."""

    default_code = "connection_error"


class ValidationError(StudioError):
    """The pipeline definition is wrong; found by the SDK before anything is sent."""

    default_code = "invalid_pipeline"


class SnapshotError(StudioError):
    """A source directory cannot be snapshotted (missing, over the size limit, links out)."""

    default_code = "invalid_snapshot"


class RunFailedError(StudioError):
    """A run waited for with ``raise_on_error=True`` ended Failed."""

    default_code = "run_failed"


class RunTimeoutError(StudioError, TimeoutError):
    """A run did not end within ``timeout_seconds``."""

    default_code = "timeout"


_BY_STATUS: dict[int, type[StudioError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
}


def error_from_response(status: int, body: Any, fallback_text: str = "") -> StudioError:
    """Build the exception for an error response from its status and decoded JSON body."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        code = error.get("code")
        details = error.get("details") or []
    else:
        # Not the studio's error shape (a proxy's page, django-ninja's {"detail": ...}).
        detail = body.get("detail") if isinstance(body, dict) else None
        message, code = "", None
        details = detail if isinstance(detail, list) else []
        if isinstance(detail, str):
            message = detail
    if not message:
        message = fallback_text.strip()[:200] or f"The server answered HTTP {status}"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else StudioError)
    return cls(message, status=status, code=code, details=details)
