"""Reuse takes only a Finished step of the same workspace: never a step that failed, was
canceled or is still running (its outputs are missing or partial), and never another
workspace's (its outputs are that team's data). No worker: the steps' states are set by hand
and each submit decides its first step at once."""

import pytest
from django.utils import timezone

from pipelines.models import PipelineRun, RunStatus, StepRun
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = pytest.mark.django_db

OUTPUTS = {"d": {"path": "outputs/earlier/d", "files": ["data.txt"], "digest": "abc"}}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, {"make.py": "print('made')\n"})


def submit_make(crew, snap) -> StepRun:
    # No test worker takes "gpu": nothing runs, so each step keeps the state a test gives it.
    run = submit(crew, [step("make", snap, "make.py", outputs=["d"], compute_target="gpu")])
    return run.steps.get()


def end_as(step_run: StepRun, status: str) -> StepRun:
    """``step_run`` in ``status`` with outputs, as if a worker had got that far."""
    step_run.status, step_run.outputs = status, OUTPUTS
    step_run.finished_at = timezone.now() if status != RunStatus.RUNNING else None
    step_run.save(update_fields=["status", "outputs", "finished_at"])
    return step_run


def test_an_identical_finished_step_of_the_workspace_is_reused(crew, snap):
    earlier = end_as(submit_make(crew, snap), RunStatus.FINISHED)
    later = submit_make(crew, snap)
    assert later.fingerprint == earlier.fingerprint
    assert later.status == RunStatus.FINISHED and later.reused_from_id == earlier.pk
    assert later.outputs == OUTPUTS
    assert later.run.status == RunStatus.FINISHED


@pytest.mark.parametrize(
    "status", [RunStatus.FAILED, RunStatus.CANCELED, RunStatus.RUNNING, RunStatus.QUEUED]
)
def test_a_step_that_did_not_finish_is_never_reused(crew, snap, status):
    earlier = end_as(submit_make(crew, snap), status)
    later = submit_make(crew, snap)
    assert later.fingerprint == earlier.fingerprint
    assert later.reused_from_id is None and later.status == RunStatus.QUEUED
    assert later.outputs == {}


def test_a_finished_step_of_another_workspace_is_never_reused(crew, snap):
    earlier = end_as(submit_make(crew, snap), RunStatus.FINISHED)
    PipelineRun.objects.filter(pk=earlier.run_id).update(workspace=crew.other_workspace)
    later = submit_make(crew, snap)
    assert later.fingerprint == earlier.fingerprint
    assert later.reused_from_id is None and later.status == RunStatus.QUEUED
    assert later.outputs == {}
