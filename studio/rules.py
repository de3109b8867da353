"""What domain methods share: the refusals they raise and how they name who acted.

The refusals carry no HTTP: the API maps :class:`Conflict` to 409 and :class:`NotFound` to 404
(see :mod:`studio.api_errors`); bad input is :class:`pipelines.graph.InvalidInput` (400).
"""

from __future__ import annotations

from django.db import transaction

from .models import actor_parts

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
    return actor_parts(by)[0]


def actor_label(by) -> str:
    """How ``by`` is shown in lists: a user name, "token <name>", or "system"."""
    return actor_parts(by)[1]


def set_enabled_many(model, workspace, ids, enabled: bool, *, by, reason: str = "") -> list:
    """Enable or disable the ``model`` objects ``ids`` (a ``StatusSwitch``) of ``workspace``
    at once: all or nothing, in one transaction, an audit event for each that changes.

    Raises ``NotFound`` naming the ids that are not in the workspace, and changes nothing.
    """
    wanted = sorted(set(ids))
    with transaction.atomic():
        objects = list(model.objects.select_for_update().filter(workspace=workspace, pk__in=wanted))
        missing = sorted(set(wanted) - {obj.pk for obj in objects})
        if missing or not wanted:
            names = ", ".join(str(pk) for pk in missing) or "none given"
            raise NotFound(
                f"Nothing was changed; not in this workspace: {names}.",
                [{"field": "ids", "message": f"unknown: {names}"}],
            )
        for obj in objects:
            obj.workspace = workspace
            obj.set_enabled(enabled, by=by, reason=reason)
    return objects
