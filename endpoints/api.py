"""REST routes of pipeline endpoints and their versions, including the endpoint submit route.

Handlers are thin: load for the caller's workspace (404 otherwise), check the role, call the
model's method, shape the answer. Rules live on the models.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from core.errors import ApiError
from core.models import EntityStatus
from core.web import absolute_url
from pipelines.models import PublishedPipeline
from pipelines.schemas import PublishedOut, published_out
from pipelines.submission import (
    IDEMPOTENCY_OPENAPI,
    SUBMIT_ERRORS,
    EndpointSubmitIn,
    SubmitOut,
    submit_once,
    submit_response,
)
from studio.api_errors import READ_ERRORS, WRITE_ERRORS, Error
from studio.api_types import Id
from studio.models import Role

from .models import PipelineEndpoint, PipelineEndpointVersion
from .queries import endpoints_for_listing

router = Router(tags=["pipeline endpoints"])


# --- Pipeline endpoints ---------------------------------------------------------------------


class EndpointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    Name: str = Field(..., min_length=1, max_length=255)
    Description: str = Field("", max_length=10_000)
    PipelineId: Id = Field(..., description="The published pipeline that becomes version 0.")


class EndpointPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    Name: str | None = Field(None, min_length=1, max_length=255)
    Description: str | None = Field(None, max_length=10_000)


class EndpointOut(Schema):
    Id: str
    Name: str
    Description: str
    Status: EntityStatus
    DefaultVersion: str | None
    Endpoint: str = Field(..., description="The URL to POST run requests to.")
    PageUrl: str = Field(..., description="Its page in the studio.")
    CreatedTime: datetime
    UpdatedTime: datetime


class EndpointList(Schema):
    Items: list[EndpointOut]


class VersionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    PipelineId: Id
    SetDefault: bool = False


class DefaultVersionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    Version: str = Field(..., max_length=16)


class VersionOut(Schema):
    Version: str
    PipelineId: str
    PipelineName: str
    PipelineVersion: str
    IsDefault: bool
    AddedBy: str
    AddedTime: datetime


class VersionList(Schema):
    Items: list[VersionOut]


class VersionDetail(VersionOut):
    PublishedPipeline: PublishedOut


def endpoint_out(request, endpoint: PipelineEndpoint, default_version=None) -> dict:
    """The REST shape of an endpoint; ``default_version`` is the default's number if known."""
    if default_version is None:
        default_version = getattr(endpoint, "default_version", None)
    if default_version is None:
        default = endpoint.versions.filter(is_default=True).values_list("number", flat=True)
        default_version = default.first()
    return {
        "Id": str(endpoint.pk),
        "Name": endpoint.name,
        "Description": endpoint.description,
        "Status": endpoint.status,
        "DefaultVersion": None if default_version is None else str(default_version),
        "Endpoint": absolute_url(request, f"/api/v1/pipeline-endpoints/{endpoint.pk}/runs"),
        "PageUrl": absolute_url(request, reverse("endpoints:endpoint_detail", args=[endpoint.pk])),
        "CreatedTime": endpoint.created_at,
        "UpdatedTime": endpoint.updated_at,
    }


def version_out(version: PipelineEndpointVersion) -> dict:
    published = version.published_pipeline
    return {
        "Version": version.version,
        "PipelineId": str(published.pk),
        "PipelineName": published.name,
        "PipelineVersion": published.version,
        "IsDefault": version.is_default,
        "AddedBy": version.added_by_label,
        "AddedTime": version.added_at,
    }


def _endpoint(request, id: int, role: str = Role.READER) -> PipelineEndpoint:
    endpoint = request.auth.load(PipelineEndpoint, id, "Pipeline endpoint", role)
    endpoint.workspace = request.auth.workspace
    return endpoint


@router.post("/pipeline-endpoints", response={201: EndpointOut, **WRITE_ERRORS})
def create_pipeline_endpoint(request, payload: EndpointIn):
    """Create an endpoint; the published pipeline becomes version "0", the default."""
    principal = request.auth
    principal.require(Role.CONTRIBUTOR)
    published = principal.load(PublishedPipeline, payload.PipelineId, "Published pipeline")
    endpoint = PipelineEndpoint.publish(
        principal.workspace,
        name=payload.Name,
        description=payload.Description,
        published=published,
        by=principal.actor,
    )
    return Status(201, endpoint_out(request, endpoint, default_version=0))


@router.get("/pipeline-endpoints", response={200: EndpointList, 401: Error})
def list_pipeline_endpoints(request, include_disabled: bool = False, name: str | None = None):
    """Endpoints of the workspace by name; disabled ones only when asked."""
    endpoints = endpoints_for_listing(request.auth.workspace, include_disabled=include_disabled)
    if name is not None:
        endpoints = endpoints.filter(name=name)
    return {"Items": [endpoint_out(request, e) for e in endpoints]}


@router.get("/pipeline-endpoints/by-name/{name}", response={200: EndpointOut, **READ_ERRORS})
def get_pipeline_endpoint_by_name(request, name: str):
    endpoint = endpoints_for_listing(request.auth.workspace).filter(name=name).first()
    if endpoint is None:
        raise ApiError(404, "not_found", f"No pipeline endpoint named '{name}' in this workspace.")
    return endpoint_out(request, endpoint)


@router.get("/pipeline-endpoints/{id}", response={200: EndpointOut, **READ_ERRORS})
def get_pipeline_endpoint(request, id: Id):
    return endpoint_out(request, _endpoint(request, id))


@router.patch("/pipeline-endpoints/{id}", response={200: EndpointOut, **WRITE_ERRORS})
def update_pipeline_endpoint(request, id: Id, payload: EndpointPatch):
    """Rename the endpoint and/or change its description (Admin)."""
    endpoint = _endpoint(request, id, Role.ADMIN)
    if payload.Name is not None:
        endpoint.rename(payload.Name, by=request.auth.actor)
    if payload.Description is not None:
        endpoint.describe(payload.Description, by=request.auth.actor)
    return endpoint_out(request, endpoint)


@router.get("/pipeline-endpoints/{id}/versions", response={200: VersionList, **READ_ERRORS})
def list_endpoint_versions(request, id: Id):
    endpoint = _endpoint(request, id)
    versions = endpoint.versions.select_related("published_pipeline").order_by("number")
    return {"Items": [version_out(v) for v in versions]}


@router.post("/pipeline-endpoints/{id}/versions", response={201: VersionOut, **WRITE_ERRORS})
def add_endpoint_version(request, id: Id, payload: VersionIn):
    """Add a published pipeline as the next version (Contributor; SetDefault needs Admin)."""
    principal = request.auth
    endpoint = _endpoint(request, id, Role.ADMIN if payload.SetDefault else Role.CONTRIBUTOR)
    published = principal.load(PublishedPipeline, payload.PipelineId, "Published pipeline")
    version = endpoint.add_version(published, by=principal.actor, make_default=payload.SetDefault)
    return Status(201, version_out(version))


@router.get(
    "/pipeline-endpoints/{id}/versions/{version}", response={200: VersionDetail, **READ_ERRORS}
)
def get_endpoint_version(request, id: Id, version: str):
    """One version and its published pipeline; 404 lists the versions that exist."""
    chosen = _endpoint(request, id).get_version(version)
    return {
        **version_out(chosen),
        "PublishedPipeline": published_out(request, chosen.published_pipeline),
    }


@router.put("/pipeline-endpoints/{id}/default-version", response={200: EndpointOut, **WRITE_ERRORS})
def set_default_version(request, id: Id, payload: DefaultVersionIn):
    """Make a version the default; an older one is a rollback (Admin)."""
    endpoint = _endpoint(request, id, Role.ADMIN)
    chosen = endpoint.set_default_version(payload.Version, by=request.auth.actor)
    return endpoint_out(request, endpoint, default_version=chosen.number)


def _set_endpoint_status(request, id: int, enable: bool):
    endpoint = _endpoint(request, id, Role.ADMIN)
    endpoint.set_enabled(enable, by=request.auth.actor)
    return endpoint_out(request, endpoint)


@router.post("/pipeline-endpoints/{id}/disable", response={200: EndpointOut, **WRITE_ERRORS})
def disable_pipeline_endpoint(request, id: Id):
    """Disable the endpoint: it refuses new runs (Admin)."""
    return _set_endpoint_status(request, id, enable=False)


@router.post("/pipeline-endpoints/{id}/enable", response={200: EndpointOut, **WRITE_ERRORS})
def enable_pipeline_endpoint(request, id: Id):
    """Enable a disabled endpoint again (Admin)."""
    return _set_endpoint_status(request, id, enable=True)


@router.post(
    "/pipeline-endpoints/{id}/runs",
    response={201: SubmitOut, **SUBMIT_ERRORS},
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def submit_to_endpoint(request, id: Id, payload: EndpointSubmitIn):
    """Run a version (default: the default version). 404 lists versions; 409 if disabled."""
    principal = request.auth
    # The usual case in one query: the endpoint with the version to run and its pipeline.
    chosen = PipelineEndpointVersion.for_submit(principal.workspace, id, payload.PipelineVersion)
    endpoint = chosen.endpoint if chosen else _endpoint(request, id, Role.CONTRIBUTOR)
    principal.require(Role.CONTRIBUTOR)
    run = submit_once(
        request,
        lambda: endpoint.submit(
            experiment_name=payload.ExperimentName,
            parameter_assignments=payload.ParameterAssignments,
            by=principal.actor,
            run_source=payload.RunSource,
            description=payload.Description,
            version=chosen or payload.PipelineVersion,
        ),
    )
    return Status(201, submit_response(request, run))
