"""REST shapes of pipelines, published pipelines, runs, step runs and metrics.

Field names are PascalCase and ids are strings (docs/CONTRACTS.md). The ``*_out`` functions
turn model rows into these shapes; they read only what the caller selected in advance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from ninja import Field, Schema
from pydantic import ConfigDict

from core.models import EntityStatus
from core.web import absolute_url
from studio.api_types import MetricValue, ParameterType, ParameterValue
from studio.api_types import ParameterAssignments as AssignmentsType

from .models import MetricKind, PipelineRun, PublishedPipeline, RunStatus, StepRun
from .models import RunSource as SourceType
from .submission import run_url


def _id(value) -> str | None:
    return str(value) if value is not None else None


class PublishIn(Schema):
    """Publish a pipeline or a run: name, description, version string."""

    model_config = ConfigDict(extra="forbid")

    Name: str = Field(..., min_length=1, max_length=255)
    Description: str = Field("", max_length=10_000)
    Version: str = Field("", max_length=64)
    ContinueOnStepFailure: bool = False


def publish(request, source, payload: PublishIn) -> dict:
    """Publish ``source`` (a draft pipeline or a run) as the body asks; the REST answer."""
    published = PublishedPipeline.publish_from(
        source,
        name=payload.Name,
        description=payload.Description,
        version=payload.Version,
        continue_on_step_failure=payload.ContinueOnStepFailure,
        by=request.auth.actor,
    )
    return published_out(request, published)


class ParameterOut(Schema):
    Name: str
    Type: ParameterType
    DefaultValue: ParameterValue


class PublishedOut(Schema):
    Id: str
    Name: str
    Description: str
    Version: str
    Status: EntityStatus
    Endpoint: str = Field(..., description="The URL to POST run requests to.")
    PageUrl: str = Field(..., description="Its page in the studio.")
    Graph: dict[str, Any]
    Parameters: list[ParameterOut]
    ContinueOnStepFailure: bool
    PublishedBy: str
    PublishedTime: datetime
    StatusReason: str = Field(..., description="Why the status last changed (may be empty).")
    StatusChangedBy: str
    StatusChangedTime: datetime | None


class PublishedList(Schema):
    Items: list[PublishedOut]


def published_out(request, published: PublishedPipeline) -> dict:
    """The REST shape of a published pipeline."""
    pk = published.pk
    return {
        "Id": str(published.pk),
        "Name": published.name,
        "Description": published.description,
        "Version": published.version,
        "Status": published.status,
        "Endpoint": absolute_url(request, f"/api/v1/published-pipelines/{published.pk}/runs"),
        "PageUrl": absolute_url(request, reverse("pipelines:published_detail", args=[pk])),
        "Graph": published.graph,
        "Parameters": [
            {"Name": p["name"], "Type": p["type"], "DefaultValue": p["default_value"]}
            for p in published.graph.get("parameters", [])
        ],
        "ContinueOnStepFailure": published.continue_on_step_failure,
        "PublishedBy": published.published_by_label,
        "PublishedTime": published.published_at,
        **status_change_out(published),
    }


class StatusChangeIn(Schema):
    """The optional body of the disable and enable routes."""

    model_config = ConfigDict(extra="forbid")

    Reason: str = Field("", max_length=500, description="Why; kept with the status, audited.")


def status_change_out(obj) -> dict:
    """Why, by whom and when a published pipeline's or endpoint's status last changed."""
    return {
        "StatusReason": obj.status_reason,
        "StatusChangedBy": obj.status_changed_by_label,
        "StatusChangedTime": obj.status_changed_at,
    }


class RunOut(Schema):
    Id: str
    Status: RunStatus
    ExperimentName: str
    # As in the submit response: the published pipeline's id, else the draft pipeline's.
    PipelineId: str | None
    PublishedPipelineId: str | None
    DraftPipelineId: str | None
    PipelineEndpointId: str | None
    PipelineVersion: str | None
    Description: str
    RunSource: SourceType
    Tags: dict[str, Any]
    ParameterAssignments: AssignmentsType
    ContinueOnStepFailure: bool
    SubmittedBy: str
    ResubmittedFromId: str | None
    Error: str
    RunUrl: str
    CreatedTime: datetime
    StartedTime: datetime | None
    FinishedTime: datetime | None


class RunList(Schema):
    Items: list[RunOut]
    NextCursor: str | None


def run_out(request, run: PipelineRun) -> dict:
    """The REST shape of a run (its experiment must be loaded along)."""
    return {
        "Id": str(run.pk),
        "Status": run.status,
        "ExperimentName": run.experiment.name,
        "PipelineId": _id(run.published_pipeline_id or run.pipeline_id),
        "PublishedPipelineId": _id(run.published_pipeline_id),
        "DraftPipelineId": _id(run.pipeline_id),
        "PipelineEndpointId": _id(run.pipeline_endpoint_id),
        "PipelineVersion": run.endpoint_version or None,
        "Description": run.description,
        "RunSource": run.run_source,
        "Tags": run.tags or {},
        "ParameterAssignments": run.parameters,
        "ContinueOnStepFailure": run.continue_on_step_failure,
        "SubmittedBy": run.submitted_by_label,
        "ResubmittedFromId": _id(run.resubmitted_from_id),
        "Error": run.error,
        "RunUrl": run_url(request, run),
        "CreatedTime": run.created_at,
        "StartedTime": run.started_at,
        "FinishedTime": run.finished_at,
    }


class StepOut(Schema):
    Id: str
    Name: str
    Status: RunStatus
    ComputeTarget: str
    IsReused: bool
    ReusedFromId: str | None
    Outputs: list[str]
    ExitCode: int | None
    FailureReason: str
    Attempts: int
    QueuedTime: datetime | None
    StartedTime: datetime | None
    FinishedTime: datetime | None


class StepList(Schema):
    Items: list[StepOut]
    NextCursor: str | None = None


def step_out(step: StepRun) -> dict:
    """The REST shape of a step run (without its log: see the log route)."""
    return {
        "Id": str(step.pk),
        "Name": step.name,
        "Status": step.status,
        "ComputeTarget": step.compute_target,
        "IsReused": step.is_reused,
        "ReusedFromId": _id(step.reused_from_id),
        "Outputs": sorted(step.outputs or {}),
        "ExitCode": step.exit_code,
        "FailureReason": step.failure_reason,
        "Attempts": step.attempts,
        "QueuedTime": step.queued_at,
        "StartedTime": step.started_at,
        "FinishedTime": step.finished_at,
    }


class LogOut(Schema):
    Offset: int
    NextOffset: int
    Content: str
    Complete: bool


class MetricOut(Schema):
    Name: str
    Kind: MetricKind
    Value: MetricValue
    StepId: str | None
    StepName: str | None
    IsReused: bool = Field(..., description="Logged by the step a reused step of this run reused.")
    ReusedFromRunId: str | None
    CreatedTime: datetime


class MetricList(Schema):
    Items: list[MetricOut]


def metric_out(metric) -> dict:
    """The REST shape of a :class:`pipelines.comparison.RunMetric`."""
    return {
        "Name": metric.name,
        "Kind": metric.kind,
        "Value": metric.value,
        "StepId": _id(metric.step_id),
        "StepName": metric.step_name,
        "IsReused": metric.is_reused,
        "ReusedFromRunId": _id(metric.reused_from_run_id),
        "CreatedTime": metric.created_at,
    }


class ComparedRowOut(Schema):
    Name: str
    Values: list[Any] = Field(..., description="One value per run, null where a run has none.")
    Reused: list[bool] = Field(..., description="Per run: carried by a reused step.")
    Differs: bool


class ComparisonOut(Schema):
    Runs: list[RunOut]
    Parameters: list[ComparedRowOut]
    Metrics: list[ComparedRowOut]


def comparison_out(request, comparison) -> dict:
    """The REST shape of a :class:`pipelines.comparison.Comparison`."""

    def rows(items):
        return [
            {
                "Name": row.name,
                "Values": row.values,
                "Reused": row.reused or [False] * len(row.values),
                "Differs": row.differs,
            }
            for row in items
        ]

    return {
        "Runs": [run_out(request, run) for run in comparison.runs],
        "Parameters": rows(comparison.parameters),
        "Metrics": rows(comparison.metrics),
    }
