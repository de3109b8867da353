"""REST routes of source snapshots and draft pipelines (create, get, submit, publish).

Runs and their steps, logs, metrics and outputs are in :mod:`pipelines.runs_api`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from core.errors import ApiError
from studio.api_errors import READ_ERRORS, WRITE_ERRORS
from studio.api_types import Id
from studio.models import Role

from .engine import submit_run
from .graph import resolve_parameters, validate_graph
from .models import Pipeline, SourceSnapshot
from .schemas import PublishedOut, PublishIn, publish
from .snapshots import store_snapshot
from .submission import (
    IDEMPOTENCY_OPENAPI,
    SUBMIT_ERRORS,
    PipelineSubmitIn,
    SubmitOut,
    submit_once,
    submit_response,
)

router = Router(tags=["pipelines"])

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SnapshotOut(Schema):
    Sha256: str
    Size: int
    Files: list[str]


def snapshot_out(snapshot: SourceSnapshot) -> dict:
    return {"Sha256": snapshot.sha256, "Size": snapshot.size, "Files": snapshot.files}


@router.get("/snapshots/{sha256}", response={200: SnapshotOut, **READ_ERRORS}, tags=["snapshots"])
def get_snapshot(request, sha256: str):
    """Whether the workspace has this snapshot (the SDK asks before uploading)."""
    found = None
    if SHA256.match(sha256):
        found = SourceSnapshot.objects.filter(
            workspace=request.auth.workspace, sha256=sha256
        ).first()
    if found is None:
        raise ApiError(404, "not_found", f"Snapshot {sha256[:64]} is not in this workspace.")
    return snapshot_out(found)


@router.post(
    "/snapshots", response={200: SnapshotOut, 201: SnapshotOut, **WRITE_ERRORS}, tags=["snapshots"]
)
def upload_snapshot(request, archive: File[UploadedFile]):
    """Upload a .tar.gz of a source folder: 201 when new, 200 when already stored."""
    principal = request.auth
    principal.require(Role.CONTRIBUTOR)
    snapshot, created = store_snapshot(principal.workspace, archive, by=principal.actor)
    return Status(201 if created else 200, snapshot_out(snapshot))


class PipelineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    Name: str = Field("", max_length=255)
    Description: str = Field("", max_length=10_000)
    Graph: dict[str, Any] = Field(..., description="The graph document (docs/CONTRACTS.md).")


class PipelineOut(Schema):
    Id: str
    Name: str
    Description: str
    Graph: dict[str, Any]
    CreatedBy: str
    CreatedTime: datetime


def pipeline_out(pipeline: Pipeline) -> dict:
    creator = pipeline.created_by
    return {
        "Id": str(pipeline.pk),
        "Name": pipeline.name,
        "Description": pipeline.description,
        "Graph": pipeline.graph,
        "CreatedBy": creator.get_username() if creator else "",
        "CreatedTime": pipeline.created_at,
    }


@router.post("/pipelines", response={201: PipelineOut, **WRITE_ERRORS})
def create_pipeline(request, payload: PipelineIn):
    """Store a draft pipeline after checking its graph (400 names each problem)."""
    principal = request.auth
    principal.require(Role.CONTRIBUTOR)
    graph = validate_graph(payload.Graph, principal.workspace)
    with transaction.atomic():
        pipeline = Pipeline.objects.create(
            workspace=principal.workspace,
            name=payload.Name.strip(),
            description=payload.Description,
            graph=graph,
            created_by=principal.user,
        )
    return Status(201, pipeline_out(pipeline))


@router.get("/pipelines/{id}", response={200: PipelineOut, **READ_ERRORS})
def get_pipeline(request, id: Id):
    return pipeline_out(
        request.auth.load(Pipeline.objects.select_related("created_by"), id, "Pipeline")
    )


@router.post(
    "/pipelines/{id}/runs",
    response={201: SubmitOut, **SUBMIT_ERRORS},
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def submit_to_pipeline(request, id: Id, payload: PipelineSubmitIn):
    """Run a draft pipeline (the SDK's ``Experiment.submit``)."""
    principal = request.auth
    pipeline = principal.load(Pipeline, id, "Pipeline", Role.CONTRIBUTOR)

    def start():
        return submit_run(
            workspace=principal.workspace,
            graph=pipeline.graph,
            experiment_name=payload.ExperimentName,
            parameters=resolve_parameters(pipeline.graph, payload.ParameterAssignments),
            by=principal.actor,
            run_source=payload.RunSource,
            description=payload.Description,
            pipeline=pipeline,
            tags=payload.Tags,
        )

    return Status(201, submit_response(request, submit_once(request, start)))


@router.post("/pipelines/{id}/publish", response={201: PublishedOut, **WRITE_ERRORS})
def publish_pipeline(request, id: Id, payload: PublishIn):
    """Publish a draft pipeline: its graph is frozen into a new published pipeline."""
    pipeline = request.auth.load(Pipeline, id, "Pipeline", Role.CONTRIBUTOR)
    return Status(201, publish(request, pipeline, payload))
