"""Who acted: a user, a token acting for a user, or the system (``by=None``).

A token (``studio.models.ApiToken``) says whom it acts for with ``acting_for`` (its creator)
and how it is shown with ``actor_name``; these helpers need nothing else from it.
"""

from __future__ import annotations


def actor_user(by):
    """The user behind ``by`` (a user, an API token or None), for ``*_by`` foreign keys."""
    if hasattr(by, "acting_for"):
        return by.acting_for
    if by is not None and getattr(by, "is_authenticated", False):
        return by
    return None


def actor_label(by) -> str:
    """How ``by`` is shown in lists: a user name, "token <name>", or "system"."""
    if hasattr(by, "actor_name"):
        return by.actor_name[:200]
    if by is not None and getattr(by, "is_authenticated", False):
        return by.get_username()[:200]
    return "system"
