"""`celery -A studio worker` without -Q takes the control queue and every compute target."""

import pytest

from pipelines.models import RunStatus
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_started_without_queues_consumes_every_configured_one(
    worker_factory, crew, tmp_path
):
    worker = worker_factory(None)  # the session's worker takes only studio and cpu
    for queue in ("studio", "cpu", "gpu"):
        assert f".> {queue} " in worker.log()

    snap = make_snapshot(crew.workspace, tmp_path, {"hello.py": "print('hello from a gpu')\n"})
    run = submit(crew, [step("render", snap, "hello.py", compute_target="gpu")])
    wait_for_run(run, timeout=90)

    assert run.status == RunStatus.FINISHED, run.error
    render = run.steps.get()
    assert render.worker.startswith(f"{worker.name}@")
    assert "hello from a gpu" in render.log
