"""REST routes of runs: list, detail, steps, logs, metrics, outputs, cancel, resubmit, publish."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import tempfile
import zipfile
from datetime import datetime

from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse
from django.utils.dateparse import parse_datetime
from ninja import Field, Query, Router, Schema, Status

from core.errors import ApiError
from core.sql import MAX_ID
from studio.api_body import Moment
from studio.api_errors import READ_ERRORS, WRITE_ERRORS, Error
from studio.api_types import Id, RowId, binary_response
from studio.models import Role

from .comparison import ComparisonError, metrics_by_run, parse_run_ids
from .comparison import compare_runs as build_comparison
from .engine import rerun_from_failed_step, resubmit
from .models import PipelineRun, RunStatus, StepRun
from .runner import utf8_cut
from .schemas import (
    ComparisonOut,
    LogOut,
    MetricList,
    PublishedOut,
    PublishIn,
    RunList,
    RunOut,
    StepList,
    comparison_out,
    metric_out,
    publish,
    run_out,
    step_out,
)
from .submission import (
    IDEMPOTENCY_OPENAPI,
    SUBMIT_ERRORS,
    RerunIn,
    SubmitOut,
    submit_once,
    submit_response,
)

router = Router(tags=["runs"])

LOG_CHUNK_BYTES = 256 * 1024
# Steps per page of GET /runs/{id}/steps: a run of up to STUDIO_MAX_STEPS comes in pages.
STEP_PAGE_DEFAULT = STEP_PAGE_MAX = 1000


def _runs(principal):
    return PipelineRun.objects.filter(workspace=principal.workspace).select_related("experiment")


def _run(request, id: int, role: str = Role.READER) -> PipelineRun:
    return request.auth.load(_runs(request.auth), id, "Run", role)


def _step(request, id: int, step_id: int) -> StepRun:
    run = _run(request, id)
    step = None
    if 0 < step_id <= MAX_ID:
        step = run.steps.filter(pk=step_id).first()
    if step is None:
        raise ApiError(404, "not_found", f"Run {id} has no step {step_id}.")
    return step


class RunFilters(Schema):
    endpoint_id: RowId | None = None
    published_pipeline_id: RowId | None = None
    experiment: str | None = None
    status: RunStatus | None = None
    submitted_by: str | None = None
    created_after: Moment | None = None
    created_before: Moment | None = None
    cursor: str | None = Field(None, max_length=200, description="NextCursor of the page before.")
    limit: int = Field(50, ge=1, le=200)


def _encode_cursor(*key) -> str:
    """The sort key of a page's last row as an opaque ``NextCursor``."""
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, check):
    """The sort key in ``cursor``, as ``check(*key)`` returns it; a cursor that is not one
    (``check`` raises ValueError or TypeError for a key it refuses) is a 400 naming it."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return check(*json.loads(raw))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            400, "invalid", "The cursor is not valid.", [{"field": "cursor", "message": "unknown"}]
        ) from None


def _run_key(created: str, pk: int) -> tuple[datetime, int]:
    """A runs page's key: the last run's creation time and id."""
    created_at = parse_datetime(created)
    if created_at is None or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
        raise ValueError
    return created_at, pk


@router.get("/runs", response={200: RunList, 400: Error, 401: Error})
def list_runs(request, filters: Query[RunFilters]):
    """Runs of the workspace, newest first, one page at a time (``NextCursor``)."""
    runs = _runs(request.auth).order_by("-created_at", "-id")
    exact = {
        "pipeline_endpoint_id": filters.endpoint_id,
        "published_pipeline_id": filters.published_pipeline_id,
        "experiment__name": filters.experiment,
        "status": filters.status,
        "created_at__gte": filters.created_after,
        "created_at__lt": filters.created_before,
    }
    runs = runs.filter(**{field: value for field, value in exact.items() if value is not None})
    if filters.submitted_by:
        runs = runs.filter(
            Q(submitted_by__username=filters.submitted_by)
            | Q(submitted_by_label=filters.submitted_by)
        )
    if filters.cursor:
        created_at, pk = _decode_cursor(filters.cursor, _run_key)
        runs = runs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    page, more = _first(runs, filters.limit)
    cursor = _encode_cursor(page[-1].created_at.isoformat(), page[-1].pk) if more else None
    return {"Items": [run_out(request, run) for run in page], "NextCursor": cursor}


def _first(rows, limit: int) -> tuple[list, bool]:
    """The first ``limit`` of ``rows`` and whether more follow (one row more is read)."""
    found = list(rows[: limit + 1])
    return found[:limit], len(found) > limit


@router.get("/runs/compare", response={200: ComparisonOut, 400: Error, 401: Error, 404: Error})
def compare_runs(request, ids: str):
    """2 to 10 runs side by side (``ids=1,2,3``): each parameter and metric with one value per
    run in the order asked, ``Differs`` when they are not all equal. A metric logged several
    times is the list of its values; a reused step's metrics are those of the step it reused."""
    try:
        run_ids = parse_run_ids(ids[:2000])
    except ComparisonError as error:
        raise ApiError(
            400, "invalid", str(error), [{"field": "ids", "message": str(error)}]
        ) from None
    try:
        comparison = build_comparison(request.auth.workspace, run_ids)
    except ComparisonError as error:
        raise ApiError(404, "not_found", str(error)) from None
    return comparison_out(request, comparison)


@router.get("/runs/{id}", response={200: RunOut, **READ_ERRORS})
def get_run(request, id: Id):
    return run_out(request, _run(request, id))


class StepPage(Schema):
    cursor: str | None = Field(None, max_length=200, description="NextCursor of the page before.")
    limit: int = Field(STEP_PAGE_DEFAULT, ge=1, le=STEP_PAGE_MAX)


def _step_key(position: int, pk: int) -> tuple[int, int]:
    """A steps page's key: the last step's position in graph order and id."""
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (position, pk)):
        raise ValueError
    if not (0 <= position <= MAX_ID and 0 < pk <= MAX_ID):
        raise ValueError
    return position, pk


@router.get("/runs/{id}/steps", response={200: StepList, 400: Error, **READ_ERRORS})
def list_run_steps(request, id: Id, page: Query[StepPage]):
    """The run's step runs in graph order, ``limit`` at a time (default and most: 1000);
    ``NextCursor`` asks for the next page and is null on the last."""
    steps = _run(request, id).steps.defer("log", "argv").order_by("position", "id")
    if page.cursor:
        position, pk = _decode_cursor(page.cursor, _step_key)
        steps = steps.filter(Q(position__gt=position) | Q(position=position, pk__gt=pk))
    found, more = _first(steps, page.limit)
    return {
        "Items": [step_out(step) for step in found],
        "NextCursor": _encode_cursor(found[-1].position, found[-1].pk) if more else None,
    }


@router.get("/runs/{id}/steps/{step_id}/log", response={200: LogOut, 400: Error, **READ_ERRORS})
def get_step_log(request, id: Id, step_id: Id, offset: int = Query(0, ge=0)):
    """The step's log from byte ``offset``; call again with ``NextOffset`` to tail it."""
    step = _step(request, id, step_id)
    data = (step.log or "").encode("utf-8")
    if not 0 <= offset <= len(data):
        raise ApiError(
            400,
            "invalid",
            f"offset must be between 0 and {len(data)}.",
            [{"field": "offset", "message": f"between 0 and {len(data)}"}],
        )
    end = utf8_cut(data, min(len(data), offset + LOG_CHUNK_BYTES))
    return {
        "Offset": offset,
        "NextOffset": end,
        "Content": data[offset:end].decode("utf-8", errors="replace"),
        "Complete": step.status in RunStatus.terminal() and end == len(data),
    }


def _metrics(run_id: int, step_id: int | None = None) -> dict:
    items = metrics_by_run([run_id], step_id=step_id)[run_id]
    return {"Items": [metric_out(metric) for metric in items]}


@router.get("/runs/{id}/metrics", response={200: MetricList, **READ_ERRORS})
def list_run_metrics(request, id: Id):
    """Every metric of the run; a reused step's are those of the step it reused
    (``IsReused``, ``ReusedFromRunId``)."""
    return _metrics(_run(request, id).pk)


@router.get("/runs/{id}/steps/{step_id}/metrics", response={200: MetricList, **READ_ERRORS})
def list_step_metrics(request, id: Id, step_id: Id):
    step = _step(request, id, step_id)
    return _metrics(step.run_id, step.pk)


def _output(step: StepRun, name: str) -> dict:
    output = (step.outputs or {}).get(name)
    if not isinstance(output, dict):
        known = ", ".join(sorted(step.outputs or {})) or "none"
        raise ApiError(
            404, "not_found", f"Step '{step.name}' has no output '{name}' (its outputs: {known})."
        )
    return output


@router.get(
    "/runs/{id}/steps/{step_id}/outputs/{name}",
    response=READ_ERRORS,
    openapi_extra=binary_response("application/zip", "A zip of the output folder."),
)
def download_step_output(request, id: Id, step_id: Id, name: str):
    """A zip of the output folder."""
    output = _output(_step(request, id, step_id), name)
    spooled = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    with zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in output.get("files", []):
            with default_storage.open(posixpath.join(output["path"], relative), "rb") as f:
                with archive.open(relative, "w") as target:
                    while chunk := f.read(1024 * 1024):
                        target.write(chunk)
    spooled.seek(0)
    return FileResponse(
        spooled, as_attachment=True, filename=f"{name}.zip", content_type="application/zip"
    )


@router.get(
    "/runs/{id}/steps/{step_id}/outputs/{name}/files/{path:path}",
    response=READ_ERRORS,
    openapi_extra=binary_response("application/octet-stream", "The file's bytes."),
)
def download_step_output_file(request, id: Id, step_id: Id, name: str, path: str):
    """One file of an output folder."""
    output = _output(_step(request, id, step_id), name)
    if path not in output.get("files", []):
        raise ApiError(404, "not_found", f"Output '{name}' has no file '{path}'.")
    handle = default_storage.open(posixpath.join(output["path"], path), "rb")
    return FileResponse(handle, as_attachment=True, filename=posixpath.basename(path))


@router.post("/runs/{id}/cancel", response={202: RunOut, **WRITE_ERRORS})
def cancel_run(request, id: Id):
    """Ask the run to stop; it passes through Canceling to Canceled."""
    run = _run(request, id, Role.CONTRIBUTOR)
    run.cancel(by=request.auth.actor)
    return Status(202, run_out(request, _run(request, id)))


@router.post(
    "/runs/{id}/resubmit",
    response={201: SubmitOut, **SUBMIT_ERRORS},
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def resubmit_run(request, id: Id):
    """A new run with the same graph, parameters and experiment."""
    run = _run(request, id, Role.CONTRIBUTOR)
    run.workspace = request.auth.workspace
    again = submit_once(request, lambda: resubmit(run, by=request.auth.actor))
    return Status(201, submit_response(request, again))


@router.post(
    "/runs/{id}/rerun",
    response={201: SubmitOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def rerun_run(request, id: Id, payload: RerunIn):
    """Rerun a Failed or Canceled run from its failed step: a new run (``ResubmittedFromId``)
    that reuses every step the run finished whose inputs and parameters did not change and
    runs the rest. ``ParameterAssignments`` correct some parameters; 409 for other runs."""
    run = _run(request, id, Role.CONTRIBUTOR)
    run.workspace = request.auth.workspace
    changes = {
        "parameter_assignments": payload.ParameterAssignments,
        "experiment_name": payload.ExperimentName,
        "description": payload.Description,
        "tags": payload.Tags,
    }
    again = submit_once(
        request, lambda: rerun_from_failed_step(run, by=request.auth.actor, **changes)
    )
    return Status(201, submit_response(request, again))


@router.post("/runs/{id}/publish", response={201: PublishedOut, **WRITE_ERRORS})
def publish_run(request, id: Id, payload: PublishIn):
    """Publish the pipeline this run executed, as it ran."""
    run = _run(request, id, Role.CONTRIBUTOR)
    run.workspace = request.auth.workspace
    return Status(201, publish(request, run, payload))
