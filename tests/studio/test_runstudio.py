"""`make run`'s process tree (manage.py runstudio) behaves like a service: production
settings, "up" only once it answers, and every process gone soon after SIGINT or SIGHUP."""

import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.conf import settings

from studio.management.commands.runstudio import Child, Command, web_answers
from tests.fixtures.storage import free_port
from tests.fixtures.worker import worker_environment
from tests.pipelines.builders import process_gone

pytestmark = pytest.mark.worker

UP_TIMEOUT = 240  # collectstatic on a fresh clone, and a busy machine


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.fixture
def studio_service(django_db_setup, tmp_path):
    """runstudio on a free loopback port with its own var folder and embedded broker (the
    session's test database), as `make run` starts it; killed after the test if still up."""
    port = free_port()
    env = {
        **worker_environment(),
        "STUDIO_VAR_DIR": str(tmp_path),
        "STUDIO_BIND": f"127.0.0.1:{port}",
        "CELERY_BROKER_URL": "",  # a broker of its own: never the tests' queues
        "WORKER_CONCURRENCY": "1",
        # gunicorn's default control socket goes here (else ~/.gunicorn/, shared by every
        # instance of the user): runstudio must start it with none.
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    env.pop("DEBUG", None)
    output = tmp_path / "runstudio.out"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstudio"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + UP_TIMEOUT
    while f"Pipeline Studio is up at {address}/" not in output.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"runstudio did not come up:\n{output.read_text()[-4000:]}")
        time.sleep(0.2)
    yield process, address, tmp_path
    if process.poll() is None:
        for pid in descendants(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.kill()
        process.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hangup"])
def test_runstudio_serves_production_pages_and_stops_every_process(studio_service, sig):
    process, address, var_dir = studio_service
    session = requests.Session()
    session.trust_env = False

    # "up" waits for the web and the worker: see test_up_waits_for_both_... below (here the
    # order of the children's lines in the output is a race with the supervisor's).
    assert session.get(f"{address}/healthz", timeout=10).json() == {"status": "ok"}
    assert not (var_dir / "gunicorn.ctl").exists()
    shown = (var_dir / "runstudio.out").read_text(errors="replace")
    assert "control socket" not in shown.lower()
    # DEBUG=0: an unknown page is the plain 404, not Django's debug page.
    missing = session.get(f"{address}/no-such-page", timeout=10)
    assert missing.status_code == 404
    assert "Using the URLconf" not in missing.text
    assert "DEBUG = True" not in missing.text
    # No HTTPS redirect on loopback: the sign-in page is served over plain HTTP.
    sign_in = session.get(f"{address}/accounts/login/", timeout=10, allow_redirects=False)
    assert sign_in.status_code == 200
    assert "Strict-Transport-Security" not in sign_in.headers
    assert (var_dir / "secret_key").stat().st_mode & 0o777 == 0o600

    tree = descendants(process.pid)
    assert len(tree) >= 5, tree  # gunicorn and its workers, the worker and its pool, beat
    started = time.monotonic()
    process.send_signal(sig)
    process.wait(timeout=60)
    left = [pid for pid in tree if not process_gone(pid, timeout=10)]
    elapsed = time.monotonic() - started
    print(f"runstudio stopped {len(tree) + 1} processes on {sig.name} in {elapsed:.2f} s")
    assert left == []
    assert elapsed < 5


LATE = 2.0  # seconds the late one of the two takes to be ready


@pytest.mark.parametrize("late", ["worker", "web"])
def test_up_waits_for_both_the_web_answering_and_the_worker_ready(tmp_path, late):
    """runstudio's supervisor with stand-ins for gunicorn (a static server answering
    /healthz) and the Celery worker (a process that prints its " ready." line): whichever is
    late, "up" is printed only once the web answers and the worker said it was ready."""
    (tmp_path / "healthz").write_text("ok")
    port = free_port()
    bind = f"127.0.0.1:{port}"
    web_delay, worker_delay = (LATE, 0) if late == "web" else (0, LATE)
    serve = f"import http.server, runpy, sys, time; time.sleep({web_delay}); " + (
        f"sys.argv = ['http.server', '{port}', '--bind', '127.0.0.1', '--directory', "
        f"'{tmp_path}']; runpy.run_module('http.server', run_name='__main__')"
    )
    ready = (
        f"import time; time.sleep({worker_delay}); print('w@h ready.', flush=True); time.sleep(60)"
    )
    env = {"PATH": "/usr/bin:/bin"}
    children = [
        Child("web", [sys.executable, "-c", serve], env),
        Child("worker", [sys.executable, "-c", ready], env, watch_for=" ready."),
    ]
    shown = StringIO()
    command = Command(stdout=shown)
    command.stopping = threading.Event()
    supervisor = threading.Thread(target=command.supervise, args=(children, bind))
    started = time.monotonic()
    supervisor.start()
    try:
        while "Pipeline Studio is up" not in shown.getvalue():
            assert time.monotonic() - started < 30, "never up"
            time.sleep(0.02)
        # At the moment "up" shows, both are ready (neither is ever un-ready again).
        assert children[1].ready.is_set()
        assert web_answers(bind)
        assert time.monotonic() - started >= LATE
        assert f"Pipeline Studio is up at http://{bind}/" in shown.getvalue()
    finally:
        command.stopping.set()
        supervisor.join(timeout=10)
        command.stop(children)
