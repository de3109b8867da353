"""Rerun from the failed step: finished steps are kept, changed work runs again."""

import pytest

from core.errors import Conflict
from pipelines.engine import rerun_from_failed_step, resubmit
from pipelines.models import RunStatus
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPTS = {
    "prepare.py": """
        import pathlib, sys, time
        out = pathlib.Path(sys.argv[1])
        (out / "data.txt").write_text(f"{sys.argv[2]} {time.time_ns()}")
        print("prepared", sys.argv[2])
    """,
    "train.py": """
        import pathlib, sys
        if sys.argv[2] == "bad":
            sys.exit("rate 'bad' is not a number")
        print("trained on", (pathlib.Path(sys.argv[1]) / "data.txt").read_text())
    """,
}


@pytest.fixture
def failed_run(crew, tmp_path):
    """prepare (never reusable) finished, train failed on its rate, evaluate never ran."""
    snap = make_snapshot(crew.workspace, tmp_path, SCRIPTS)
    steps = [
        step(
            "prepare",
            snap,
            "prepare.py",
            [{"data": "d"}, {"parameter": "size"}],
            outputs=["d"],
            allow_reuse=False,
        ),
        step("train", snap, "train.py", [{"data": "d"}, {"parameter": "rate"}], inputs=["d"]),
    ]
    parameters = [{"name": "size", "default_value": 10}, {"name": "rate", "default_value": "0.1"}]
    run = submit(crew, steps, parameters=parameters, assignments={"rate": "bad"})
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FAILED, run.status
    return run


def steps_of(run):
    return {s.name: s for s in run.steps.all()}


def test_rerun_keeps_the_finished_steps_and_runs_the_failed_one(celery_worker, crew, failed_run):
    before = steps_of(failed_run)
    again = rerun_from_failed_step(
        failed_run, by=crew.contributor, parameter_assignments={"rate": "0.01"}
    )
    wait_for_run(again, timeout=60)
    after = steps_of(again)
    assert again.status == RunStatus.FINISHED, again.error
    assert again.resubmitted_from == failed_run
    assert again.parameters == {"size": 10, "rate": "0.01"}
    # prepare does not allow reuse, yet the rerun keeps what the failed run finished.
    assert after["prepare"].reused_from == before["prepare"]
    assert not after["train"].is_reused and "trained on 10" in after["train"].log


def test_a_changed_parameter_runs_the_steps_it_reaches_again(celery_worker, crew, failed_run):
    before = steps_of(failed_run)
    again = rerun_from_failed_step(
        failed_run, by=crew.contributor, parameter_assignments={"size": 20, "rate": "0.01"}
    )
    wait_for_run(again, timeout=60)
    after = steps_of(again)
    assert again.status == RunStatus.FINISHED, again.error
    assert not after["prepare"].is_reused and "prepared 20" in after["prepare"].log
    assert after["prepare"].fingerprint != before["prepare"].fingerprint


def test_resubmitting_a_finished_run_still_runs_steps_that_refuse_reuse(
    celery_worker, crew, failed_run
):
    fixed = rerun_from_failed_step(
        failed_run, by=crew.contributor, parameter_assignments={"rate": "0.01"}
    )
    wait_for_run(fixed, timeout=60)
    again = resubmit(fixed, by=crew.contributor)
    wait_for_run(again, timeout=60)
    assert not steps_of(again)["prepare"].is_reused  # allow_reuse=False is kept for the rest
    with pytest.raises(Conflict, match="only a failed or canceled run"):
        rerun_from_failed_step(fixed, by=crew.contributor)
