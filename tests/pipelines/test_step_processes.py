"""Nothing a step starts outlives it: not after cancel, not after timeout, not after its
worker is killed (the next worker to start cleans up), even when it left its session."""

import time
import uuid
from pathlib import Path

import pytest

from pipelines.models import RunStatus
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Starts two sleepers that leave the step's session: one through setsid(1), one through a
# double fork with setsid(), as a daemon would. Both keep the step's output open.
ESCAPE = """
    import os, subprocess, sys, time
    marker = sys.argv[1]
    subprocess.Popen(["setsid", "sleep", marker])
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", marker])
        os._exit(0)
    os.wait()
    print("escaped", flush=True)
    time.sleep(300)
"""


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, {"escape.py": ESCAPE})


def new_marker() -> str:
    """A sleep duration no other process on the machine has on its command line."""
    return f"300.{uuid.uuid4().int % 10**12:012d}"


def sleepers(marker: str) -> set[int]:
    """Live processes running ``sleep <marker>`` (zombies have no command line)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.joinpath("cmdline").read_bytes().split(b"\0")[:2] == [
                    b"sleep",
                    marker.encode(),
                ]:
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def escape_step(snap, marker, **extra):
    return step("escape", snap, "escape.py", [marker], **extra)


def test_cancel_kills_what_the_step_started_in_other_sessions(celery_worker, crew, snap):
    marker = new_marker()
    run = submit(crew, [escape_step(snap, marker)])
    wait_until(lambda: len(sleepers(marker)) == 2, 60, "both sleepers to start")
    run.cancel(by=crew.contributor)
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.CANCELED
    wait_until(lambda: not sleepers(marker), 30, "the sleepers to be killed")


def test_timeout_kills_what_the_step_started_in_other_sessions(celery_worker, crew, snap):
    marker = new_marker()
    run = submit(crew, [escape_step(snap, marker, timeout_seconds=8)])
    wait_until(lambda: len(sleepers(marker)) == 2, 60, "both sleepers to start")
    wait_for_run(run, timeout=60)
    assert run.steps.get().failure_reason.startswith("Timed out after 8 s")
    wait_until(lambda: not sleepers(marker), 30, "the sleepers to be killed")


def test_a_starting_worker_kills_what_steps_of_a_killed_worker_left(
    worker_factory, step_account, crew, snap
):
    if step_account is None:
        pytest.skip("needs root: orphans are recognised by the step account they run as")
    marker = new_marker()
    doomed = worker_factory("gpu")
    run = submit(crew, [escape_step(snap, marker, compute_target="gpu")])
    wait_until(lambda: len(sleepers(marker)) == 2, 60, "both sleepers to start")
    left = sleepers(marker)
    doomed.kill()
    assert sleepers(marker) >= left  # orphans of init now
    worker_factory("gpu")
    wait_until(lambda: not (sleepers(marker) & left), 30, "the new worker to kill the orphans")
    run.cancel(by=crew.contributor)  # its retry, if it started, ends with it
    wait_for_run(run, timeout=60)
