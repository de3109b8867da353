"""What domain methods share: the refusals they raise and how they name who acted.

The refusals carry no HTTP: the API maps :class:`Conflict` to 409 and :class:`NotFound` to 404
(see :mod:`studio.api_errors`); bad input is :class:`pipelines.graph.InvalidInput` (400).
"""

from __future__ import annotations

from .models import ApiToken

# The largest id a row can have (bigint); larger ones cannot be compared by the databases.
MAX_ID = 2**63 - 1


class Refusal(Exception):
    """A domain rule refused an action; ``message`` says why, ``details`` itemise it."""

    def __init__(self, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class Conflict(Refusal):
    """The object's state forbids the action (disabled, archived, name taken)."""


class NotFound(Refusal):
    """A named part of the object does not exist (e.g. an endpoint version)."""


def actor_user(by):
    """The user behind ``by`` (a user, an ApiToken or None), for ``*_by`` foreign keys."""
    if isinstance(by, ApiToken):
        return by.created_by
    if by is not None and getattr(by, "is_authenticated", False):
        return by
    return None


def actor_label(by) -> str:
    """How ``by`` is shown in lists: a user name, "token <name>", or "system"."""
    if isinstance(by, ApiToken):
        return f"token {by.name}"[:200]
    if by is not None and getattr(by, "is_authenticated", False):
        return by.get_username()[:200]
    return "system"
