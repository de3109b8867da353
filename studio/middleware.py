"""Puts the signed-in user's current workspace and role on each request; answers API calls
from an SDK too old for this studio, and API methods a route does not take, in the API's
error shape; refuses NUL characters in what the studio's pages are sent; sets the
Content-Security-Policy."""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import JsonResponse

from core.web import absolute_url

from .api_errors import error_body
from .models import Membership
from .sdk_dist import install_help, sdk_version_refusal


class ContentSecurityPolicyMiddleware:
    """Sends ``settings.CONTENT_SECURITY_POLICY`` with every response that has none: the
    pages load scripts and styles from the studio's own static files only, so an injected
    ``<script>`` or ``onclick`` would not run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RefuseNulMiddleware:
    """Answers 400 to a page request with a NUL character in its path, query string or
    form fields: no page means one, and PostgreSQL refuses it in text (a 500 otherwise).
    The REST API (``/api/``) answers such requests itself, in its JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and _carries_nul(request):
            raise BadRequest("The request contains a NUL character.")
        return self.get_response(request)


def _carries_nul(request) -> bool:
    if "\x00" in request.path:
        return True
    sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for data in sources
        for key, values in data.lists()
    )


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


class ApiMethodNotAllowedMiddleware:
    """A method a route of /api/ does not take answers 405 in the API's JSON error shape
    (ninja's router answers it in plain text), keeping the ``Allow`` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            allowed = response.get("Allow", "")
            body = error_body(
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}; use {allowed or 'another'}.",
            )
            response = JsonResponse(body, status=405, headers={"Allow": allowed})
        return response


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
