"""Pipeline Studio's Python SDK: the published-pipeline vocabulary, over the REST API only.

This package imports no Django; it talks to a studio server through its REST API::

    from pipelines.sdk import Workspace, Experiment, Pipeline, PipelineParameter, PythonScriptStep

    ws = Workspace.from_config()
    param = PipelineParameter(name="pipeline_arg", default_value=10)
    step = PythonScriptStep(script_name="compare.py", arguments=["--param1", param],
                            compute_target="cpu", source_directory="src")
    run = Experiment(ws, "My_Pipeline").submit(Pipeline(ws, steps=[step]))
    run.wait_for_completion(show_output=True)
"""

from ._version import __version__
from .endpoints import EndpointVersion, PipelineEndpoint
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RunFailedError,
    RunTimeoutError,
    ServerError,
    SnapshotError,
    StudioConnectionError,
    StudioError,
    ValidationError,
)
from .experiment import Experiment
from .pipeline import Pipeline
from .published import PublishedPipeline
from .run_context import Run
from .runs import PipelineRun, RunComparison, StepRun
from .schedule import Schedule, ScheduleRecurrence
from .steps import FanOut, PipelineData, PipelineParameter, PythonScriptStep
from .workspace import Workspace

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EndpointVersion",
    "Experiment",
    "FanOut",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PublishedPipeline",
    "PythonScriptStep",
    "RunComparison",
    "Run",
    "RunFailedError",
    "RunTimeoutError",
    "Schedule",
    "ScheduleRecurrence",
    "ServerError",
    "SnapshotError",
    "StepRun",
    "StudioConnectionError",
    "StudioError",
    "ValidationError",
    "Workspace",
    "__version__",
]
