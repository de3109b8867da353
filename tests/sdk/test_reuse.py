"""Reuse from the SDK: an unchanged step is reused; ``regenerate_outputs=True`` runs it again."""

import pytest

from pipelines.sdk import Experiment, Pipeline, PipelineData, PythonScriptStep
from studio.models import Role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def reused(run) -> bool:
    assert run.wait_for_completion(show_output=False, timeout_seconds=90) == "Finished"
    (step,) = run.get_steps()
    return step.get_details()["IsReused"]


def test_unchanged_step_is_reused_unless_outputs_are_regenerated(
    celery_worker, sdk_workspace, step_source
):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    out = PipelineData("out1")
    step = PythonScriptStep(
        "echo.py",
        arguments=["--value", 4, "--out", out],
        outputs=[out],
        source_directory=step_source,
    )
    experiment = Experiment(ws, "Reuse")
    assert reused(experiment.submit(Pipeline(ws, [step]))) is False
    assert reused(experiment.submit(Pipeline(ws, [step]))) is True
    assert reused(experiment.submit(Pipeline(ws, [step]), regenerate_outputs=True)) is False
