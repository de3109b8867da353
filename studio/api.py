"""The REST API under /api/v1/ (django-ninja). Routers of each app are added here: this
module, like the root URLs, is wiring and may import every app.

Every route needs a bearer token (see :mod:`studio.auth`); every error has the shape of
:mod:`studio.api_errors`; bodies are checked by :mod:`studio.api_body` before parsing.
"""

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router, Schema

from endpoints.api import router as endpoints_router
from pipelines.api import router as pipelines_router
from pipelines.published_api import router as published_router
from pipelines.runs_api import router as runs_router

from .api_body import CheckedJsonParser, request_problem
from .api_errors import Error, error_body, install_error_handlers
from .api_tokens import router as tokens_router
from .auth import BearerAuth

api = NinjaAPI(
    title="Pipeline Studio API",
    version="1",
    description=(
        "Publish, version and run machine-learning pipelines. Authenticate with "
        "`Authorization: Bearer <token>`. Errors are "
        '`{"error": {"code": "...", "message": "...", "details": [...]}}`. '
        "With a Microsoft Entra ID access token, choose the workspace with the "
        "`X-Studio-Workspace: <slug>` header (default: your first workspace by name)."
    ),
    urls_namespace="api",
    auth=BearerAuth(),
    parser=CheckedJsonParser(),
)
install_error_handlers(api)


def check_request_body(run):
    """View decorator for every operation: refuse bad bodies, paths and queries before parsing."""

    @wraps(run)
    def checked(request, *args, **kwargs):
        problem = request_problem(request)
        if problem is not None:
            return api.on_exception(request, problem)
        return run(request, *args, **kwargs)

    return checked


api.add_decorator(check_request_body, mode="view")


class WorkspaceOut(Schema):
    Id: str
    Name: str
    Slug: str
    Role: str


meta = Router(tags=["workspace"])


@meta.get("/workspace", response={200: WorkspaceOut, 401: Error}, summary="The caller's workspace")
def workspace(request):
    """The workspace the token belongs to, and the caller's role in it."""
    principal = request.auth
    return {
        "Id": str(principal.workspace.pk),
        "Name": principal.workspace.name,
        "Slug": principal.workspace.slug,
        "Role": principal.role,
    }


@meta.get("/health", auth=None, summary="Liveness of the API")
def health(request):
    return {"status": "ok"}


api.add_router("", meta)
api.add_router("", pipelines_router)
api.add_router("", runs_router)
api.add_router("", published_router)
api.add_router("", endpoints_router)
api.add_router("", tokens_router)


@csrf_exempt
def unknown_route(request, rest: str):
    """A path under /api/v1/ that no route matches: 404 in the API's error shape, not HTML."""
    body = error_body("not_found", f"There is no API route /api/v1/{rest}; see /api/v1/docs.")
    return JsonResponse(body, status=404)
