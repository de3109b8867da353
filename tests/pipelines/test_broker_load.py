"""The embedded broker loses nothing: a few hundred runs submitted at once all finish."""

import threading
import time

import pytest
from django.db import connection
from django.db.models import Count

from pipelines.models import PipelineRun, RunStatus
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUNS = 300
CLIENTS = 4


def status_counts() -> dict:
    return dict(PipelineRun.objects.values_list("status").annotate(n=Count("id")))


def test_hundreds_of_runs_submitted_at_once_all_finish(celery_worker, crew, tmp_path):
    snap = make_snapshot(crew.workspace, tmp_path, {"noop.py": "print('ok')\n"})
    errors = []

    def client():
        try:
            for _ in range(RUNS // CLIENTS):
                submit(crew, [step("noop", snap, "noop.py", allow_reuse=False)])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert PipelineRun.objects.count() == RUNS
    deadline = time.monotonic() + 240
    while PipelineRun.objects.filter(status=RunStatus.FINISHED).count() < RUNS:
        assert time.monotonic() < deadline, status_counts()
        time.sleep(0.5)
    assert status_counts() == {RunStatus.FINISHED: RUNS}
