"""STUDIO_STEP_SANDBOX=bwrap: a step sees only its own work folder (the one place it can
write), the Python installation and a few files of /etc; no process but its own."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from pipelines.models import RunStatus
from pipelines.step_isolation import sandbox_problem
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LOOK_AROUND = """
    import json, os, pathlib, sys
    from pipelines.sdk import Run

    out, hidden = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
    writable = {}
    for place in ("/", "/usr", "/etc", "/tmp", os.environ["HOME"], os.environ["TMPDIR"]):
        try:
            pathlib.Path(place, "probe").write_text("x")
            writable[place] = True
        except OSError:
            writable[place] = False
    report = {
        "pids": sorted(int(pid) for pid in os.listdir("/proc") if pid.isdigit()),
        "seen": [path for path in hidden if os.path.exists(path)],
        "step folders": os.listdir(pathlib.Path(out).parents[2]),
        "writable": writable,
    }
    Run.get_context().log("sandboxed", 1)
    (out / "report.json").write_text(json.dumps(report))
"""


def test_a_sandboxed_step_sees_only_its_own_folder(worker_factory, crew, tmp_path):
    if problem := sandbox_problem():
        pytest.skip(f"bubblewrap cannot run here: {problem}")
    worker_factory("gpu", env={"STUDIO_STEP_SANDBOX": "bwrap"})
    snap = make_snapshot(crew.workspace, tmp_path, {"look.py": LOOK_AROUND})
    hidden = [
        str(settings.VAR_DIR / "db.sqlite3"),
        str(settings.MEDIA_ROOT),
        str(settings.STUDIO_WORK_DIR / "snapshots"),
        str(settings.BASE_DIR / "studio" / "settings.py"),
        "/etc/shadow",
        "/home",
        "/var",
    ]
    hidden = [path for path in hidden if Path(path).exists()]  # on the host (SQLite: db)
    assert len(hidden) >= 6
    run = submit(
        crew,
        [
            step(
                "look",
                snap,
                "look.py",
                [{"data": "report"}, json.dumps(hidden)],
                outputs=["report"],
                compute_target="gpu",
            )
        ],
    )
    wait_for_run(run, timeout=60)
    look = run.steps.get()
    assert run.status == RunStatus.FINISHED, look.log
    stored = settings.MEDIA_ROOT / look.outputs["report"]["path"] / "report.json"
    report = json.loads(stored.read_text())
    assert report["seen"] == []
    assert len(report["pids"]) <= 3  # bubblewrap's init, the script, nothing of the host
    assert report["step folders"] == [f"{look.pk}-{look.attempts}"]
    home, tmp = (look.argv[1].rsplit("/outputs/", 1)[0] + sub for sub in ("/cwd", "/tmp"))
    assert report["writable"] == {
        "/": False,
        "/usr": False,
        "/etc": False,
        "/tmp": False,
        home: True,
        tmp: True,
    }
    assert run.metrics.get(name="sandboxed").value == 1
