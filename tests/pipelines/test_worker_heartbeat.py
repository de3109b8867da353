"""Every worker writes its own heartbeat (pipelines/worker_heartbeat.py), so /metrics tells a
live idle worker from a stopped one and from one that died.

Real workers (``worker_factory``) on the gpu queue, to which these tests send nothing: they
run no step. Each test worker beats every second (tests/fixtures/worker.py). A transactional
test starts with only the rows of workers still running (the session's worker and this
test's): each one's flush takes the rest.
"""

import socket
import time

import pytest
from django.utils import timezone

from pipelines.models import StepRun, WorkerHeartbeat, WorkerState
from tests.fixtures.metrics import scrape
from tests.fixtures.worker import WORKER_HEARTBEAT_INTERVAL, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def heartbeat_row(handle, timeout: float = 60) -> WorkerHeartbeat:
    """The WorkerHeartbeat row of the worker ``handle``, once it wrote one."""
    deadline = time.monotonic() + timeout
    while True:
        row = WorkerHeartbeat.objects.filter(name__startswith=f"{handle.name}@").first()
        if row is not None:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no heartbeat row of {handle.name} after {timeout} s:\n{handle.log()[-3000:]}"
            )
        time.sleep(0.1)


def age_key(row):
    return ("studio_worker_heartbeat_age_seconds", (("worker", row.name),))


def workers_in(figures, state):
    return figures[("studio_workers", (("state", state),))]


def test_an_idle_worker_reports_itself_alive_until_it_stops(worker_factory, client, metrics_on):
    worker = worker_factory("gpu")
    row = heartbeat_row(worker)

    assert row.name == f"{worker.name}@{socket.gethostname()}"
    assert (row.hostname, row.queues, row.pid) == (
        socket.gethostname(),
        ["gpu"],
        worker.process.pid,
    )
    assert row.interval == float(WORKER_HEARTBEAT_INTERVAL)
    assert row.stopped_at is None
    first_seen = row.seen_at
    wait_for(row, lambda r: r.seen_at > first_seen, 60, "the idle worker's next heartbeat")
    assert row.state(timezone.now()) == WorkerState.ALIVE
    assert age_key(row) in scrape(client)

    worker.stop()

    row.refresh_from_db()
    assert row.stopped_at is not None
    assert row.state(timezone.now()) == WorkerState.STOPPED
    figures = scrape(client)
    assert age_key(row) not in figures
    assert workers_in(figures, "stopped") == 1  # the only worker stopped since the last flush
    assert not StepRun.objects.filter(worker=row.name).exists()  # it never ran a step


def test_a_killed_worker_turns_stale_and_is_not_reported_stopped(
    worker_factory, client, metrics_on
):
    worker = worker_factory("gpu")
    row = heartbeat_row(worker)
    assert row.pid == worker.process.pid

    worker.kill()  # SIGKILL to every process: nothing marks it stopped

    wait_for(
        row,
        lambda r: r.state(timezone.now()) == WorkerState.STALE,
        60,
        "the killed worker to turn stale",
    )
    figures = scrape(client)
    assert row.stopped_at is None
    assert figures[age_key(row)] >= 3 * row.interval
    assert workers_in(figures, "stale") >= 1
    assert workers_in(figures, "stopped") == 0
