"""Sign-in security: throttling failed sign-ins, remembering sessions, auditing sign-ins."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.core.cache import caches
from django.dispatch import receiver
from django.utils.connection import ConnectionProxy

from .models import AuditEvent, UserSession

# One address may fail this many times more than one user name: many people share an address
# behind an office NAT or a proxy, and one person's typos must not lock them all out.
ADDRESS_LIMIT_FACTOR = 4


def client_address(request) -> str:
    """The address a request came from, as the web server saw it."""
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


# Shared by every web process (see CACHES in studio.settings); one client per thread, as
# Django's own ``cache``.
cache = ConnectionProxy(caches, "signin")


class SignInThrottle:
    """Counts failed sign-ins per user name and per address; refuses more past the limit.

    The limit is ``settings.LOGIN_FAILURE_LIMIT`` failures for one user name (four times that
    for one address) within ``settings.LOGIN_FAILURE_WINDOW_SECONDS``; counts live in the cache.
    """

    def __init__(self, request, username: str):
        name = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        limit = settings.LOGIN_FAILURE_LIMIT
        self.limits = {
            f"signin-failures:user:{name}": limit,
            f"signin-failures:address:{client_address(request)}": limit * ADDRESS_LIMIT_FACTOR,
        }
        self.user_key = f"signin-failures:user:{name}"

    @property
    def message(self) -> str:
        minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
        return (
            "Too many failed sign-in attempts. For your safety, sign-in is paused: "
            f"try again in {minutes} minutes."
        )

    def is_blocked(self) -> bool:
        counts = cache.get_many(list(self.limits))
        return any(counts.get(key, 0) >= limit for key, limit in self.limits.items())

    def record_failure(self) -> None:
        for key in self.limits:
            # add() starts the window on the first failure; incr() keeps its expiry.
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)

    def record_success(self) -> None:
        cache.delete(self.user_key)


@receiver(user_logged_in, dispatch_uid="studio.signin.signed_in")
def signed_in(sender, request, user, **kwargs):
    """Remember the new session (for "sign out everywhere") and audit the sign-in."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.remember(user, session.session_key)
    match = getattr(request, "resolver_match", None)
    method = "microsoft" if match is not None and match.url_name == "msal_callback" else "password"
    AuditEvent.record(
        None, user, "user.signed_in", None, method=method, address=client_address(request)
    )


@receiver(user_logged_out, dispatch_uid="studio.signin.signed_out")
def signed_out(sender, request, user, **kwargs):
    """Forget the session that just ended."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


@receiver(user_login_failed, dispatch_uid="studio.signin.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    """Audit a failed password sign-in to an existing account (never the password)."""
    User = get_user_model()
    username = credentials.get(User.USERNAME_FIELD) or ""
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    if user is not None:
        AuditEvent.record(None, user, "user.sign_in_failed", None, address=client_address(request))
