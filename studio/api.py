"""The REST API under /api/v1/ (django-ninja). Routers of each app are added here: this
module, like the root URLs, is wiring and may import every app.

Every route needs a bearer token (see :mod:`studio.auth`); every error has the shape of
:mod:`studio.api_errors`; bodies are checked by :mod:`studio.api_body` before parsing.
"""

from functools import wraps
from typing import Literal

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router, Schema

from endpoints.api import router as endpoints_router
from pipelines.api import router as pipelines_router
from pipelines.execution_api import router as execution_router
from pipelines.published_api import router as published_router
from pipelines.runs_api import router as runs_router
from schedules.api import router as schedules_router

from .api_body import CheckedJsonParser, request_problem
from .api_errors import Error, error_body, install_error_handlers
from .api_tokens import router as tokens_router
from .auth import BearerAuth
from .models import Role

# What each error status means, for the operations that can answer it.
ERROR_STATUSES = {
    "400": "Bad input: the message and details name each field that is wrong (a malformed "
    "id, query value or body, a NUL character, an unknown parameter).",
    "401": "No token, or a token that is unknown, expired or revoked.",
    "403": "The caller's role is too low for this operation.",
    "404": "No such object in the caller's workspace.",
    "409": "The object's state forbids it (disabled, name taken, run already ended).",
    "413": "The body is too large.",
    "415": "The body is not JSON (snapshots: not multipart/form-data).",
    "422": "The Idempotency-Key was sent before with a different request.",
    "500": "Something went wrong on the server; it was logged.",
}
WORKSPACE_HEADER = {
    "in": "header",
    "name": "X-Studio-Workspace",
    "required": False,
    "schema": {"type": "string", "maxLength": 100},
    "description": "With an Entra ID access token: the slug of the workspace to act in "
    "(default: your first by name). API tokens belong to one workspace and ignore it.",
}


class StudioAPI(NinjaAPI):
    """ninja's API with an OpenAPI document that generated clients can rely on: operationIds
    named for what they do (the handler's name in camelCase), every error status an operation
    can answer declared with the error shape, the workspace header declared, ``servers``
    filled in, and no component that nothing uses."""

    def get_openapi_operation_id(self, operation) -> str:
        first, *rest = operation.view_func.__name__.split("_")
        return first + "".join(word.capitalize() for word in rest)

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document["servers"] = [{"url": settings.STUDIO_BASE_URL or "/"}]
        for path, operations in document["paths"].items():
            for operation in operations.values():
                _declare_errors(path, operation)
        _drop_unused_components(document)
        return document


def _declare_errors(path: str, operation: dict) -> None:
    secured = bool(operation.get("security"))
    statuses = {"400", "500"}
    if secured:
        statuses.add("401")
        operation.setdefault("parameters", []).append(dict(WORKSPACE_HEADER))
    if "{" in path:
        statuses.add("404")
    if "requestBody" in operation:
        statuses |= {"413", "415"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    # ninja keys responses by int, openapi_extra by str: one key per status, or the JSON
    # document would hold a status twice (which Swagger UI refuses to parse).
    responses = {}
    for status, response in sorted(operation["responses"].items(), key=lambda item: str(item[0])):
        responses.setdefault(str(status), {}).update(response)
    operation["responses"] = responses
    for status in sorted(statuses - set(responses)):
        responses[status] = {"description": ERROR_STATUSES[status], "content": error}
    for status, response in responses.items():
        if status in ERROR_STATUSES and response.get("description") in ("", "OK", None):
            response["description"] = ERROR_STATUSES[status]


def _drop_unused_components(document: dict) -> None:
    """Remove schemas no operation reaches (e.g. the query models ninja flattens)."""
    schemas = document.get("components", {}).get("schemas", {})
    prefix = "#/components/schemas/"
    reached, pending = set(), [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if (
                isinstance(ref, str)
                and ref.startswith(prefix)
                and ref[len(prefix) :] not in reached
            ):
                reached.add(ref[len(prefix) :])
                pending.append(schemas.get(ref[len(prefix) :], {}))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in set(schemas) - reached:
        del schemas[name]


api = StudioAPI(
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
    Role: Role


meta = Router(tags=["workspace"])


@meta.get("/workspace", response={200: WorkspaceOut, 401: Error}, summary="The caller's workspace")
def get_workspace(request):
    """The workspace the token belongs to, and the caller's role in it."""
    principal = request.auth
    return {
        "Id": str(principal.workspace.pk),
        "Name": principal.workspace.name,
        "Slug": principal.workspace.slug,
        "Role": principal.role,
    }


class HealthOut(Schema):
    status: Literal["ok"]


@meta.get(
    "/health", auth=None, response={200: HealthOut}, summary="Liveness of the API", tags=["health"]
)
def get_health(request):
    return {"status": "ok"}


api.add_router("", meta)
api.add_router("", pipelines_router)
api.add_router("", runs_router)
api.add_router("", published_router)
api.add_router("", endpoints_router)
api.add_router("", tokens_router)
api.add_router("", schedules_router)
api.add_router("", execution_router)


@csrf_exempt
def unknown_route(request, rest: str):
    """A path under /api/v1/ that no route matches: 404 in the API's error shape, not HTML."""
    body = error_body("not_found", f"There is no API route /api/v1/{rest}; see /api/v1/docs.")
    return JsonResponse(body, status=404)
