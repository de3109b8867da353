"""REST routes of published pipelines: list, read, disable/enable and submit a run.

Handlers are thin: load for the caller's workspace (404 otherwise), check the role, call the
domain, shape the answer.
"""

from __future__ import annotations

from ninja import Router, Status

from studio.api_errors import READ_ERRORS, WRITE_ERRORS, Error
from studio.api_types import Id
from studio.models import Role

from .engine import submit_published_run
from .models import PublishedPipeline
from .queries import published_for_listing
from .schemas import PublishedList, PublishedOut, published_out
from .submission import (
    IDEMPOTENCY_OPENAPI,
    SUBMIT_ERRORS,
    SubmitIn,
    SubmitOut,
    submit_once,
    submit_response,
)

router = Router(tags=["published pipelines"])


@router.get("/published-pipelines", response={200: PublishedList, 401: Error})
def list_published_pipelines(request, include_disabled: bool = False):
    """Published pipelines of the workspace, newest first; disabled ones only when asked."""
    rows = published_for_listing(request.auth.workspace, include_disabled)
    return {"Items": [published_out(request, p) for p in rows]}


@router.get("/published-pipelines/{id}", response={200: PublishedOut, **READ_ERRORS})
def get_published_pipeline(request, id: Id):
    return published_out(request, request.auth.load(PublishedPipeline, id, "Published pipeline"))


def _set_published_status(request, id: int, enable: bool):
    published = request.auth.load(PublishedPipeline, id, "Published pipeline", Role.ADMIN)
    published.set_enabled(enable, by=request.auth.actor)
    return published_out(request, published)


@router.post("/published-pipelines/{id}/disable", response={200: PublishedOut, **WRITE_ERRORS})
def disable_published_pipeline(request, id: Id):
    """Disable: the pipeline refuses new runs and leaves the default lists (Admin)."""
    return _set_published_status(request, id, enable=False)


@router.post("/published-pipelines/{id}/enable", response={200: PublishedOut, **WRITE_ERRORS})
def enable_published_pipeline(request, id: Id):
    """Enable a disabled published pipeline again (Admin)."""
    return _set_published_status(request, id, enable=True)


@router.post(
    "/published-pipelines/{id}/runs",
    response={201: SubmitOut, **SUBMIT_ERRORS},
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def submit_to_published_pipeline(request, id: Id, payload: SubmitIn):
    """Start a run. 409 when the pipeline is disabled; 400 naming each bad parameter."""
    principal = request.auth
    published = principal.load(PublishedPipeline, id, "Published pipeline", Role.CONTRIBUTOR)
    published.workspace = principal.workspace
    run = submit_once(
        request,
        lambda: submit_published_run(
            published,
            experiment_name=payload.ExperimentName,
            parameter_assignments=payload.ParameterAssignments,
            by=principal.actor,
            run_source=payload.RunSource,
            description=payload.Description,
        ),
    )
    return Status(201, submit_response(request, run))
