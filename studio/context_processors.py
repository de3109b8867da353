"""Template context every page needs: the workspace, the role, the user's other workspaces."""

from django.conf import settings

from .models import Role


def studio(request):
    context = {
        "current_workspace": getattr(request, "workspace", None),
        "current_role": getattr(request, "role", None),
        "msal_enabled": bool(
            settings.MSAL_CLIENT_ID and settings.MSAL_CLIENT_SECRET and settings.MSAL_AUTHORITY
        ),
    }
    role = context["current_role"]
    context["is_admin"] = bool(role) and Role.at_least(role, Role.ADMIN)
    context["is_contributor"] = bool(role) and Role.at_least(role, Role.CONTRIBUTOR)
    # Loaded once by CurrentWorkspaceMiddleware, which already read the memberships.
    context["user_workspaces"] = getattr(request, "workspaces", [])
    return context
