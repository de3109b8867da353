"""Reuse: an unchanged step is not run again; a changed input or parameter runs it again."""

import pytest

from pipelines.engine import resubmit
from pipelines.models import PipelineRun, RunStatus
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPTS = {
    "make.py": """
        import pathlib, sys, time
        out, mode = pathlib.Path(sys.argv[1]), sys.argv[2]
        text = str(time.time_ns()) if mode == "fresh" else mode
        (out / "data.txt").write_text(text)
        print("made", text)
    """,
    "use.py": """
        import pathlib, sys
        print("used", (pathlib.Path(sys.argv[1]) / "data.txt").read_text())
    """,
}


def graph(snap, make_reuse=True):
    return [
        step(
            "make",
            snap,
            "make.py",
            [{"data": "d"}, {"parameter": "mode"}],
            outputs=["d"],
            allow_reuse=make_reuse,
        ),
        step("use", snap, "use.py", [{"data": "d"}], inputs=["d"]),
    ]


def run_of(crew, snap, mode, make_reuse=True):
    run = submit(
        crew,
        graph(snap, make_reuse),
        assignments={"mode": mode},
        parameters=[{"name": "mode", "default_value": "same"}],
    )
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FINISHED, run.error
    return {s.name: s for s in run.steps.all()}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, SCRIPTS)


def test_resubmit_reuses_unchanged_steps(celery_worker, crew, snap):
    first = run_of(crew, snap, "same")
    original = PipelineRun.objects.get(pk=first["make"].run_id)
    again = resubmit(original, by=crew.contributor)
    wait_for_run(again, timeout=60)
    steps = {s.name: s for s in again.steps.all()}
    assert again.status == RunStatus.FINISHED and again.resubmitted_from == original
    for name in ("make", "use"):
        assert steps[name].status == RunStatus.FINISHED and steps[name].is_reused
        assert steps[name].reused_from == first[name]
        assert steps[name].outputs == first[name].outputs
        assert steps[name].fingerprint == first[name].fingerprint
        assert f"Reused the outputs of step run {first[name].pk}" in steps[name].log


def test_changed_input_runs_downstream_again(celery_worker, crew, snap):
    first = run_of(crew, snap, "fresh", make_reuse=False)
    second = run_of(crew, snap, "fresh", make_reuse=False)
    assert not second["make"].is_reused and not second["use"].is_reused
    assert second["make"].outputs["d"]["digest"] != first["make"].outputs["d"]["digest"]
    assert second["use"].fingerprint != first["use"].fingerprint
    assert "used" in second["use"].log


def test_changed_parameter_is_not_reused(celery_worker, crew, snap):
    run_of(crew, snap, "alpha")
    second = run_of(crew, snap, "beta")
    assert not second["make"].is_reused and "made beta" in second["make"].log
    assert not second["use"].is_reused and "used beta" in second["use"].log
