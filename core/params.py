"""Reading numbers and return addresses from query strings and forms: what is out of range
is a 400 or the default, never a 500."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.utils.http import url_has_allowed_host_and_scheme

# The largest value a database integer column (64-bit) can hold: a bigger id or offset
# can match nothing, and handing it to the database fails instead of matching nothing.
DB_INT_MAX = 2**63 - 1
# The largest position in a text a page may ask for: far past any kept log, and with room
# for arithmetic within the 32-bit positions of the database's string functions.
TEXT_POSITION_MAX = 2**30


def int_param(
    data, name: str, default: int | None = None, minimum: int = 0, maximum: int = DB_INT_MAX
) -> int | None:
    """``data[name]`` (a QueryDict) as an integer from ``minimum`` to ``maximum``;
    ``default`` when absent or empty. Raises BadRequest (400) naming ``name`` otherwise."""
    raw = (data.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if len(raw) <= 20 else None
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be a whole number from {minimum} to {maximum}.")
    return value


def local_url(request, target: str | None, default: str) -> str:
    """``target`` (a "next" field) when it is a path on this site, else ``default``: never
    another site, and never a bare word that ``redirect()`` would take for a view name."""
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return default
