"""What every REST submit shares: the body, the 201 response, and ``Idempotency-Key``.

Used by ``POST /published-pipelines/{id}/runs``, ``POST /pipeline-endpoints/{id}/runs``,
``POST /pipelines/{id}/runs`` and ``POST /runs/{id}/resubmit`` (the contract: README, "REST API").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from core.errors import InvalidInput, StudioError
from core.sql import fetch_one, load_joined, table
from studio.api_errors import WRITE_ERRORS, Error
from studio.api_types import ParameterAssignments as AssignmentsType

from .models import Experiment, IdempotencyKey, PipelineRun, RunStatus
from .models import RunSource as SourceType
from .monitoring import record_submit

IDEMPOTENCY_WINDOW = timedelta(hours=24)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_PRINTABLE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Documents the header in the OpenAPI document of every submit route.
IDEMPOTENCY_OPENAPI = {
    "parameters": [
        {
            "in": "header",
            "name": IDEMPOTENCY_HEADER,
            "required": False,
            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
            "description": (
                "Retrying with the same key and body on the same route within 24 hours "
                "returns the first run; the same key with another body is a 422."
            ),
        }
    ]
}
# The error responses of every submit route: those of any write, and 422 for a reused key.
SUBMIT_ERRORS = {**WRITE_ERRORS, 422: Error}


class IdempotencyKeyReused(StudioError):
    """An ``Idempotency-Key`` sent again with another body (HTTP 422, as the IETF draft says)."""

    status = 422
    code = "idempotency_key_reused"


class SubmitIn(Schema):
    """The body of a submit to a published pipeline."""

    model_config = ConfigDict(extra="forbid")

    ExperimentName: str = Field(
        ..., description="Groups the run; 1 to 255 characters, no control characters."
    )
    ParameterAssignments: AssignmentsType | None = Field(
        None, description="Parameter values by name; missing ones take their defaults."
    )
    RunSource: SourceType = Field(
        SourceType.API, description='Who asks; "Resubmit" is set by the studio only.'
    )
    Description: str = Field("", max_length=10_000)

    @field_validator("RunSource")
    @classmethod
    def _run_source(cls, value: SourceType) -> SourceType:
        if value == SourceType.RESUBMIT:
            raise ValueError("Resubmit is set by the studio on resubmitted runs")
        return value

    @field_validator("ExperimentName")
    @classmethod
    def _experiment_name(cls, value: str) -> str:
        return _checked_experiment_name(value)


def _checked_experiment_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("is required")
    if len(value) > 255:
        raise ValueError("at most 255 characters")
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("may not contain control characters")
    return value


class EndpointSubmitIn(SubmitIn):
    """The body of a submit to a pipeline endpoint: optionally which version to run."""

    PipelineVersion: str | None = Field(
        None, max_length=16, description='"0", "1", …; absent: the default version.'
    )


class PipelineSubmitIn(SubmitIn):
    """The body of a submit of a draft pipeline: tags may be added."""

    Tags: dict[str, str] = Field(default_factory=dict)


class RerunIn(Schema):
    """The body of a rerun from the failed step: what changes (all optional)."""

    model_config = ConfigDict(extra="forbid")

    ParameterAssignments: AssignmentsType | None = Field(
        None, description="Parameters to change; the others keep the failed run's values."
    )
    ExperimentName: str | None = Field(None, description="Absent: the failed run's.")
    Description: str | None = Field(None, max_length=10_000)
    Tags: dict[str, str] | None = None

    @field_validator("ExperimentName")
    @classmethod
    def _experiment_name(cls, value: str | None) -> str | None:
        return None if value is None else _checked_experiment_name(value)


class SubmitOut(Schema):
    """The 201 response of every submit."""

    Id: str
    Status: RunStatus
    ExperimentName: str
    PipelineId: str | None
    PipelineEndpointId: str | None
    PipelineVersion: str | None
    ParameterAssignments: AssignmentsType
    RunUrl: str
    CreatedTime: datetime


def run_url(request, run: PipelineRun) -> str:
    """The dashboard page of ``run``, absolute (from STUDIO_BASE_URL or the request)."""
    try:
        path = reverse("pipelines:run_detail", args=[run.pk])
    except NoReverseMatch:
        path = f"/runs/{run.pk}/"
    base = settings.STUDIO_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return f"{base}{path}"


def submit_response(request, run: PipelineRun) -> dict:
    """The submit contract's response body for ``run``."""
    pipeline_id = run.published_pipeline_id or run.pipeline_id
    return {
        "Id": str(run.pk),
        "Status": run.status,
        "ExperimentName": run.experiment.name,
        "PipelineId": str(pipeline_id) if pipeline_id else None,
        "PipelineEndpointId": str(run.pipeline_endpoint_id) if run.pipeline_endpoint_id else None,
        "PipelineVersion": run.endpoint_version or None,
        "ParameterAssignments": run.parameters,
        "RunUrl": run_url(request, run),
        "CreatedTime": run.created_at,
    }


def submit_once(request, start: Callable[[], PipelineRun]) -> PipelineRun:
    """Call ``start`` unless this caller already sent the request's ``Idempotency-Key`` here.

    A key belongs to the caller (the token or user) and the route (the submit URL with its
    ids): the same key on another route is another key. Within 24 hours the same key with the
    same body returns the run of the first request; with another body it is refused with 422
    naming the key, as the IETF Idempotency-Key draft says, rather than silently dropping the
    new parameters. Concurrent requests with one key race on a unique row: the losers roll
    back their run (nothing is dispatched, dispatch happens on commit) and return the winner's.
    Each submit is counted by its result for /metrics.
    """
    try:
        run, replayed = _submit_once(request, start)
    except StudioError:  # refused by a rule: 400, 404, 409…
        record_submit("refused")
        raise
    except Exception:
        record_submit("error")
        raise
    record_submit("replayed" if replayed else "accepted")
    return run


def _submit_once(request, start: Callable[[], PipelineRun]) -> tuple[PipelineRun, bool]:
    """``(run, replayed)``: the run started now, or the first request's run."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return start(), False
    if not _PRINTABLE_KEY.match(key):
        raise InvalidInput(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            [{"field": IDEMPOTENCY_HEADER, "message": "1 to 255 printable ASCII characters"}],
        )
    scope = {"principal": request.auth.key, "route": _route_of(request), "key": key}
    fingerprint = body_fingerprint(request.body)
    cutoff = timezone.now() - IDEMPOTENCY_WINDOW
    try:
        with transaction.atomic():
            earlier = _earlier_run(scope, fingerprint, cutoff)
            if earlier is not None:
                return earlier, True
            run = start()
            table(IdempotencyKey).insert(
                [IdempotencyKey(**scope, fingerprint=fingerprint, run=run)]
            )
            return run, False
    except IntegrityError:
        earlier = _earlier_run(scope, fingerprint, cutoff)
        if earlier is None:
            raise
        return earlier, True


def body_fingerprint(body: bytes) -> str:
    """The sha256 of a request body, of its canonical JSON when it is JSON: a retry that
    re-serialises the same object with other spacing or key order is the same request."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _route_of(request) -> str:
    """The submit route and its ids, e.g. ``api/v1/pipeline-endpoints/<int:id>/runs id=7``:
    ids come from the resolver, so ``/runs/007`` and ``/runs/7`` are one route."""
    match = request.resolver_match
    ids = " ".join(f"{name}={value}" for name, value in sorted(match.kwargs.items()))
    return f"{match.route} {ids}".strip()[:255]


def _earlier_run(scope: dict, fingerprint: str, cutoff) -> PipelineRun | None:
    """The run created with this key in ``scope`` since ``cutoff``, with its experiment;
    IdempotencyKeyReused when that request had another body. A key older than ``cutoff`` is
    deleted, so the key may be used again. Hand-written SQL, as the SDK sends a key with
    every submit (see :mod:`core.sql`)."""
    keys, runs, experiments = table(IdempotencyKey), table(PipelineRun), table(Experiment)
    row = fetch_one(
        f"SELECT {keys.columns('k')}, {runs.columns('r')}, {experiments.columns('x')} "
        f"FROM {keys.name} k JOIN {runs.name} r ON r.id = k.run_id "
        f"JOIN {experiments.name} x ON x.id = r.experiment_id "
        "WHERE k.principal = %s AND k.route = %s AND k.key = %s",
        [scope["principal"], scope["route"], scope["key"]],
    )
    if row is None:
        return None
    found, run, run.experiment = load_joined(row, keys, runs, experiments)
    if found.created_at < cutoff:
        IdempotencyKey.objects.filter(pk=found.pk).delete()
        return None
    if found.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"The Idempotency-Key {scope['key']!r} was already used with another request body "
            f"(run {run.pk}). Send a new key for a different request.",
            [{"field": IDEMPOTENCY_HEADER, "message": "already used with another body"}],
        )
    return run
