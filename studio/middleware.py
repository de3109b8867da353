"""Puts the signed-in user's current workspace and role on each request, and refuses API calls
from an SDK too old for this studio."""

from django.http import JsonResponse

from pipelines.schemas import absolute_url

from .api_errors import error_body
from .models import Membership
from .sdk_dist import install_help, sdk_version_refusal


class CurrentWorkspaceMiddleware:
    """Sets ``request.workspace`` and ``request.role`` (None for anonymous or non-members),
    and ``request.workspaces``, all of the user's workspaces by name (for the switcher).

    The workspace is the one chosen in the header switcher (kept in the session) when the
    user is still a member of it, otherwise the user's first workspace. One query loads
    every membership: a person belongs to a handful of workspaces.
    """

    SESSION_KEY = "workspace_id"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.role = None
        request.workspaces = []
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            memberships = list(
                Membership.objects.filter(user=user)
                .select_related("workspace")
                .order_by("workspace__name")
            )
            request.workspaces = [m.workspace for m in memberships]
            chosen = request.session.get(self.SESSION_KEY)
            membership = next((m for m in memberships if m.workspace_id == chosen), None)
            if membership is None and memberships:
                membership = memberships[0]
            if membership is not None:
                request.workspace = membership.workspace
                request.role = membership.role
        return self.get_response(request)


class SdkVersionMiddleware:
    """Refuses API calls from an SDK older than ``SDK_MIN_VERSION`` with a 400 that names the
    version to install and the pip line, before the call touches anything."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            refusal = sdk_version_refusal(request.headers)
            if refusal is not None:
                field, problem = refusal
                message = f"{problem} {install_help(absolute_url(request, ''))['pip']}"
                details = [{"field": field, "message": message}]
                return JsonResponse(error_body("sdk_too_old", message, details), status=400)
        return self.get_response(request)
