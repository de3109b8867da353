"""The execution API: the only routes a running step may call, with its run token.

A step script gets ``STUDIO_URL`` and ``STUDIO_STEP_TOKEN`` (:mod:`pipelines.step_tokens`);
``Run.get_context().log(...)`` posts here. The token is accepted for its own step run while
that attempt is Running and nowhere else; API tokens are not accepted here.
"""

from __future__ import annotations

from ninja import Router, Schema, Status
from ninja.security import HttpBearer

from core.errors import ApiError
from studio.api_errors import WRITE_ERRORS
from studio.api_types import Id, MetricValue

from .metrics import record_metrics
from .models import MetricKind
from .step_tokens import step_for_token


class StepTokenAuth(HttpBearer):
    """``Authorization: Bearer <run token>``; ``request.auth`` is the Running StepRun."""

    def authenticate(self, request, token: str):
        return step_for_token(token.strip())


router = Router(tags=["execution"], auth=StepTokenAuth())


class MetricIn(Schema):
    Name: str
    Kind: MetricKind = MetricKind.SCALAR
    Value: MetricValue = None


class MetricsIn(Schema):
    Metrics: list[MetricIn]


class MetricsStored(Schema):
    Stored: int


@router.post(
    "/step-runs/{id}/metrics",
    response={201: MetricsStored, **WRITE_ERRORS},
    summary="Log metrics of the running step (run token only)",
)
def log_step_metrics(request, id: Id, body: MetricsIn):
    """Store metrics of the step run that holds the run token (``scalar``, ``list``, ``row``
    or ``tag``); all or none. Only while the step runs."""
    step = request.auth
    if step.pk != id:
        raise ApiError(404, "not_found", f"Step run {id} is not the step run of this token.")
    items = [(metric.Name, str(metric.Kind), metric.Value) for metric in body.Metrics]
    return Status(201, {"Stored": record_metrics(step, items)})
