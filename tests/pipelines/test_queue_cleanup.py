"""Tests leave the broker's queues empty: a message left behind would name a run id that a
later test's rows may reuse (tests/fixtures/worker.py purges after each committing test)."""

import pytest

from studio.celery import app
from tests.fixtures.worker import purge_queues
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = pytest.mark.django_db(transaction=True)


def waiting(queue: str) -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel._size(queue)


def test_purge_empties_the_queue_a_submit_filled(crew, tmp_path):
    snap = make_snapshot(crew.workspace, tmp_path, {"s.py": "print(1)\n"})
    purge_queues()
    # No test worker takes "gpu": the message waits in the broker.
    submit(crew, [step("s", snap, "s.py", compute_target="gpu")])
    assert waiting("gpu") == 1
    purge_queues()
    assert waiting("gpu") == 0
