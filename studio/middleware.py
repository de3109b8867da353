"""Puts the signed-in user's current workspace and role on each request."""

from .models import Membership


class CurrentWorkspaceMiddleware:
    """Sets ``request.workspace`` and ``request.role`` (None for anonymous or non-members).

    The workspace is the one chosen in the header switcher (kept in the session) when the
    user is still a member of it, otherwise the user's first workspace.
    """

    SESSION_KEY = "workspace_id"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.role = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            memberships = Membership.objects.filter(user=user).select_related("workspace")
            chosen = request.session.get(self.SESSION_KEY)
            membership = None
            if chosen is not None:
                membership = memberships.filter(workspace_id=chosen).first()
            if membership is None:
                membership = memberships.order_by("workspace__name").first()
            if membership is not None:
                request.workspace = membership.workspace
                request.role = membership.role
        return self.get_response(request)
