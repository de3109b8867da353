"""Loading objects for the current member, one line per view."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Role


def require_role(request, role: str) -> None:
    """Raise 403 unless the member's role in the current workspace is at least ``role``."""
    if request.workspace is None:
        raise Http404("You are not a member of any workspace.")
    if not Role.at_least(request.role, role):
        raise PermissionDenied(f"This needs the {Role(role).label} role.")


def get_for_member(request, model_or_queryset, pk, role: str = Role.READER):
    """The object with ``pk`` in the current workspace, after checking the member's role.

    Objects of another workspace are 404, never 403, so ids cannot be probed.
    """
    if request.workspace is None:
        raise Http404
    queryset = (
        model_or_queryset._default_manager.all()
        if hasattr(model_or_queryset, "_default_manager")
        else model_or_queryset
    )
    obj = get_object_or_404(queryset, pk=pk, workspace=request.workspace)
    require_role(request, role)
    return obj


def member_required(view):
    """Signed in and a member of some workspace (otherwise an explanatory page)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.workspace is None:
            from django.shortcuts import render

            return render(request, "studio/no_workspace.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
