"""Steps really run on a Celery worker subprocess: order, arguments, logs, failures, cancel."""

import json

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from pipelines.models import RunStatus
from pipelines.sdk import __version__
from studio.models import AuditEvent
from tests.fixtures.worker import wait_for, wait_for_run
from tests.pipelines.builders import make_snapshot, process_gone, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPTS = {
    "sleep.py": """
        import sys, time
        print("start", flush=True)
        time.sleep(float(sys.argv[1]))
        print("end", flush=True)
    """,
    "meet.py": """
        import pathlib, sys, time
        here, me, other = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
        (here / me).touch()
        print("start", flush=True)
        for _ in range(1200):  # two minutes at most
            if (here / other).exists():
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"{other} never ran while {me} did")
        print("end", flush=True)
    """,
    "argv.py": """
        import json, pathlib, sys
        out = pathlib.Path(sys.argv[1])
        (out / "argv.json").write_text(json.dumps(sys.argv[2:]), encoding="utf-8")
        print("args:", sys.argv[2:3])
    """,
    "fail.py": """
        import sys
        print("boom", file=sys.stderr)
        sys.exit(3)
    """,
    "spawn.py": """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        print("child", child.pid, flush=True)
        time.sleep(300)
    """,
    "chatty.py": """
        import pathlib, sys, time
        print("first line", flush=True)
        go = pathlib.Path(sys.argv[1])
        while not go.exists():  # the test says when, once it has seen the first line
            time.sleep(0.05)
        print("second line", flush=True)
    """,
    "metrics.py": """
        from pipelines.sdk import Run
        run = Run.get_context()
        run.log("accuracy", 0.93)
        run.log_list("losses", [0.5, 0.25])
        run.log_row("scores", epoch=1, loss=0.3)
        run.tag("team", "engine")
        print("run", run.id, "parent", run.parent.id)
    """,
    "imports.py": """
        import importlib.util, os
        import pipelines.sdk
        print("sdk", pipelines.sdk.__version__, "from", os.environ["PYTHONPATH"])
        for name in ("studio", "endpoints", "pipelines.models", "pipelines.runner"):
            print(name, importlib.util.find_spec(name) is not None)
    """,
    "links.py": """
        import os, pathlib, sys
        out = pathlib.Path(sys.argv[1])
        (out / "real.txt").write_text("mine")
        (out / "sub").mkdir()
        (out / "sub" / "deep.txt").write_text("deep")
        os.symlink("/etc/passwd", out / "stolen.txt")
    """,
}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, SCRIPTS)


def test_independent_branches_run_at_the_same_time(celery_worker, crew, snap, step_shared_folder):
    # Each branch waits until the other has started: they finish only if both run at once.
    here = str(step_shared_folder)
    run = submit(
        crew,
        [
            step("left", snap, "meet.py", [here, "left", "right"]),
            step("right", snap, "meet.py", [here, "right", "left"]),
            step("join", snap, "sleep.py", ["0"], run_after=["left", "right"]),
        ],
    )
    wait_for_run(run, timeout=180)
    assert run.status == RunStatus.FINISHED, run.error
    steps = {s.name: s for s in run.steps.all()}
    left, right, join = steps["left"], steps["right"], steps["join"]
    assert join.started_at >= max(left.finished_at, right.finished_at)
    assert "start" in left.log and "end" in left.log


def test_parameter_override_reaches_argv(celery_worker, crew, snap):
    run = submit(
        crew,
        [
            step(
                "echo",
                snap,
                "argv.py",
                [{"data": "out"}, "--count", {"parameter": "count"}],
                outputs=["out"],
            )
        ],
        parameters=[{"name": "count", "default_value": 10}],
        assignments={"count": "20"},
    )
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FINISHED, run.error
    echo = run.steps.get()
    output = echo.outputs["out"]
    with default_storage.open(f"{output['path']}/argv.json") as handle:
        assert json.loads(handle.read()) == ["--count", "20"]
    assert echo.argv[0] == "argv.py" and echo.argv[-2:] == ["--count", "20"]
    assert run.parameters == {"count": 20}


def test_hostile_argument_values_arrive_verbatim(celery_worker, crew, snap):
    hostile = [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "'single' \"double\"",
        "line one\nline two",
        "non-ASCII: ü 日本 🎉",
        "",
        "--flag=value",
        "x" * 60_000,  # under the 64 KiB a parameter value may hold
    ]
    run = submit(
        crew,
        [
            step(
                "echo",
                snap,
                "argv.py",
                [{"data": "out"}, {"parameter": "evil"}, *hostile[:-1]],
                outputs=["out"],
            )
        ],
        parameters=[{"name": "evil", "default_value": "harmless"}],
        assignments={"evil": hostile[-1]},
    )
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FINISHED, run.error
    output = run.steps.get().outputs["out"]
    with default_storage.open(f"{output['path']}/argv.json") as handle:
        received = json.loads(handle.read().decode("utf-8"))
    assert received == [hostile[-1], *hostile[:-1]]


def failing_graph(snap):
    return [
        step("bad", snap, "fail.py", outputs=["never"]),
        step("after_bad", snap, "sleep.py", ["0"], inputs=["never"]),
        step("slow", snap, "sleep.py", ["1.5"], outputs=["slow_out"]),
        step("after_slow", snap, "sleep.py", ["0"], inputs=["slow_out"]),
    ]


def test_failing_step_stops_the_run(celery_worker, crew, snap):
    run = submit(crew, failing_graph(snap))
    wait_for_run(run, timeout=60)
    steps = {s.name: s for s in run.steps.all()}
    assert run.status == RunStatus.FAILED
    assert "Step 'bad' failed: The script exited with code 3." in run.error
    assert steps["bad"].status == RunStatus.FAILED and steps["bad"].exit_code == 3
    assert "boom" in steps["bad"].log
    assert steps["after_bad"].status == RunStatus.CANCELED
    assert steps["after_slow"].status == RunStatus.CANCELED
    assert steps["after_slow"].failure_reason.startswith("Not run:")
    # "slow" either ran alongside "bad" or was still waiting and was canceled.
    assert steps["slow"].status in (RunStatus.FINISHED, RunStatus.CANCELED)


def test_continue_on_step_failure_lets_other_branches_finish(celery_worker, crew, snap):
    run = submit(crew, failing_graph(snap), continue_on_step_failure=True)
    wait_for_run(run, timeout=60)
    steps = {s.name: s for s in run.steps.all()}
    assert run.status == RunStatus.FAILED
    assert steps["after_slow"].status == RunStatus.FINISHED
    assert steps["after_bad"].status == RunStatus.CANCELED
    assert "upstream step 'bad' failed" in steps["after_bad"].failure_reason


def test_timeout_kills_the_step_and_its_children(celery_worker, crew, snap):
    run = submit(crew, [step("forever", snap, "spawn.py", timeout_seconds=1)])
    wait_for_run(run, timeout=30)
    forever = run.steps.get()
    assert run.status == RunStatus.FAILED
    assert forever.failure_reason == "Timed out after 1 s; its processes were killed."
    child_pid = int(forever.log.split("child ")[1].split()[0])
    assert process_gone(child_pid)


def test_cancel_terminates_a_long_step_and_cancels_the_rest(celery_worker, crew, snap):
    run = submit(
        crew,
        [
            step("long", snap, "spawn.py", outputs=["o"]),
            step("next", snap, "sleep.py", ["0"], inputs=["o"]),
        ],
    )
    long = run.steps.get(name="long")
    wait_for(long, lambda s: "child" in s.log, timeout=30, what="the long step to start")
    run.cancel(by=crew.contributor)
    wait_for_run(run, timeout=30)
    steps = {s.name: s for s in run.steps.all()}
    assert run.status == RunStatus.CANCELED
    assert steps["long"].status == RunStatus.CANCELED
    assert steps["next"].status == RunStatus.CANCELED
    assert process_gone(int(steps["long"].log.split("child ")[1].split()[0]))
    assert AuditEvent.objects.filter(action="run.canceled", object_id=str(run.pk)).exists()


def test_log_is_visible_while_the_step_runs(celery_worker, crew, snap, step_shared_folder):
    go = step_shared_folder / "go"
    run = submit(crew, [step("chatty", snap, "chatty.py", [str(go)])])
    chatty = run.steps.get()
    # The step cannot end before ``go`` exists: its first line must reach the log meanwhile.
    wait_for(chatty, lambda s: "first line" in s.log, timeout=60, what="the first line")
    assert chatty.status == RunStatus.RUNNING and "second line" not in chatty.log
    go.touch()
    wait_for_run(run, timeout=60)
    chatty.refresh_from_db()
    assert "second line" in chatty.log and chatty.exit_code == 0


def test_metrics_are_recorded_on_the_step_and_run(celery_worker, crew, snap):
    run = submit(crew, [step("measure", snap, "metrics.py")])
    wait_for_run(run, timeout=30)
    measure = run.steps.get()
    assert run.status == RunStatus.FINISHED, measure.log
    assert f"run {run.pk} parent {run.pk}" in measure.log
    metrics = {m.name: (m.kind, m.value, m.step_run_id) for m in run.metrics.all()}
    assert metrics == {
        "accuracy": ("scalar", 0.93, measure.pk),
        "losses": ("list", [0.5, 0.25], measure.pk),
        "scores": ("row", {"epoch": 1, "loss": 0.3}, measure.pk),
        "team": ("tag", "engine", measure.pk),
    }


def test_step_scripts_import_the_sdk_and_nothing_of_the_server(celery_worker, crew, snap):
    run = submit(crew, [step("imports", snap, "imports.py")])
    wait_for_run(run, timeout=60)
    log = run.steps.get().log
    assert run.status == RunStatus.FINISHED, log
    assert f"sdk {__version__} from {settings.SDK_SRC}\n" in log
    for name in ("studio", "endpoints", "pipelines.models", "pipelines.runner"):
        assert f"{name} False" in log


def test_steps_for_the_gpu_target_wait_for_a_gpu_worker(celery_worker, worker_factory, crew, snap):
    run = submit(
        crew,
        [
            step("on_cpu", snap, "sleep.py", ["0"]),
            step("on_gpu", snap, "sleep.py", ["0"], compute_target="gpu", run_after=["on_cpu"]),
        ],
    )
    on_gpu = run.steps.get(name="on_gpu")
    wait_for(on_gpu, lambda s: s.status == RunStatus.QUEUED, timeout=60, what="Queued")
    gpu = worker_factory("gpu")
    wait_for_run(run, timeout=60)
    on_gpu.refresh_from_db()
    # Run once, by the gpu worker: had the cpu worker taken it, its name would be here.
    assert run.status == RunStatus.FINISHED and on_gpu.attempts == 1
    assert on_gpu.worker.startswith(gpu.name)


def test_outputs_are_stored_without_links_out(celery_worker, crew, snap):
    run = submit(crew, [step("links", snap, "links.py", [{"data": "out"}], outputs=["out"])])
    wait_for_run(run, timeout=30)
    output = run.steps.get().outputs["out"]
    assert run.status == RunStatus.FINISHED
    assert output["files"] == ["real.txt", "sub/deep.txt"] and output["size"] == 8
    with default_storage.open(f"{output['path']}/sub/deep.txt") as handle:
        assert handle.read() == b"deep"
