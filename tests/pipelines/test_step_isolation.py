"""A step submitted with workspace B's Contributor token cannot reach the server's secrets or
workspace A's data, and still logs metrics and passes outputs to the next step.

The hostile step is given the true locations (a better guess than any attacker's) and tries
each way in: the worker's environment and command line through /proc, every readable
/proc/*/environ, the database and broker files and a connection to them, the media folder
with A's outputs, A's snapshot in the worker's cache, the other step folders. On PostgreSQL
and Redis the test machine trusts every local connection, so what is checked there is that
the step cannot learn the URLs (production uses passwords, see the README's Security model).
"""

import json
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from pipelines.models import RunStatus
from pipelines.runner import save_output
from pipelines.sdk import Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace
from studio.models import ApiToken, Role
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

A_SECRET = "workspace-A-secret-4f1c9a"

PROBE = """
    import argparse, json, os, pathlib, sqlite3
    from pipelines.sdk import Run

    parser = argparse.ArgumentParser()
    parser.add_argument("--guesses", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    guesses = json.loads(args.guesses)
    results = {}

    def attempt(name, action):
        try:
            results[name] = {"ok": True, "value": action()}
        except Exception as error:
            results[name] = {"ok": False, "error": type(error).__name__}

    def read(path):
        return pathlib.Path(path).read_bytes().decode("utf-8", "replace")

    def readable_environs():
        found = {}
        for entry in pathlib.Path("/proc").iterdir():
            try:  # processes come and go while we look
                if entry.name.isdigit() and entry.stat().st_uid != os.getuid():
                    found[entry.name] = read(entry / "environ")
            except OSError:
                pass
        return found

    def query(path, sql):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute(sql).fetchall()

    attempt("parent environ", lambda: read(f"/proc/{os.getppid()}/environ"))
    attempt("worker environ", lambda: read(f"/proc/{guesses['worker_pid']}/environ"))
    attempt("parent cmdline", lambda: read(f"/proc/{os.getppid()}/cmdline"))
    attempt("worker cmdline", lambda: read(f"/proc/{guesses['worker_pid']}/cmdline"))
    attempt("own environment", lambda: dict(os.environ))
    results["every environ"] = {"ok": True, "value": readable_environs()}
    for index, path in enumerate(guesses["database_files"]):
        attempt(f"database file {index}", lambda: read(path)[:64])
        attempt(f"database query {index}", lambda: query(path, "SELECT * FROM django_session"))
    for index, path in enumerate(guesses["broker_files"]):
        attempt(f"broker file {index}", lambda: read(path)[:64])
        attempt(f"broker query {index}", lambda: query(path, "SELECT * FROM kombu_message"))
    for name in ("var", "media", "work steps", "snapshot cache", "database folder"):
        if guesses.get(name):
            attempt(f"list {name}", lambda: os.listdir(guesses[name]))
    attempt("A's output", lambda: read(guesses["a_output"]))
    attempt("A's script", lambda: read(guesses["a_script"]))

    Run.get_context().log("probes", len(results))
    pathlib.Path(args.report, "report.json").write_text(json.dumps(results))
    print("probed", len(results), flush=True)
"""

CONSUME = """
    import argparse, json, pathlib
    from pipelines.sdk import Run

    parser = argparse.ArgumentParser()
    parser.add_argument("--report", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    report = json.loads(pathlib.Path(args.report, "report.json").read_text())
    Run.get_context().log("consumed", len(report))
    pathlib.Path(args.out, "summary.txt").write_text(f"{len(report)} probes")
"""

A_STEP = f"""
    import pathlib, sys
    pathlib.Path(sys.argv[1], "secret.txt").write_text("{A_SECRET}")
"""


def run_workspace_a(crew, tmp_path):
    """A finished run of workspace A with an output file in the media folder."""
    snap = make_snapshot(crew.workspace, tmp_path / "a", {"a.py": A_STEP})
    run = submit(crew, [step("a", snap, "a.py", [{"data": "secret"}], outputs=["secret"])])
    wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FINISHED
    output = run.steps.get().outputs["secret"]
    a_output = Path(settings.MEDIA_ROOT) / output["path"] / "secret.txt"
    assert a_output.read_text() == A_SECRET
    a_script = Path(settings.STUDIO_WORK_DIR) / "snapshots" / snap.sha256 / "a.py"
    assert a_script.exists()
    return a_output, a_script


def guesses(celery_worker, a_output, a_script) -> dict:
    var = Path(settings.VAR_DIR)
    database, broker = [], []
    database_folder = None
    if connection.vendor == "sqlite":
        database = [str(connection.settings_dict["NAME"]), str(var / "db.sqlite3")]
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            database_folder = cursor.fetchone()[0]
    if settings.CELERY_BROKER_URL.startswith("sqla+sqlite:///"):
        broker = [settings.CELERY_BROKER_URL.removeprefix("sqla+sqlite:///")]
    return {
        "worker_pid": celery_worker.process.pid,
        "database_files": database,
        "broker_files": broker,
        "var": str(var),
        "media": str(settings.MEDIA_ROOT),
        "work steps": str(Path(settings.STUDIO_WORK_DIR) / "steps"),
        "snapshot cache": str(Path(settings.STUDIO_WORK_DIR) / "snapshots"),
        "database folder": database_folder,
        "a_output": str(a_output),
        "a_script": str(a_script),
    }


def server_secrets() -> list[str]:
    """Strings whose presence anywhere a step can read would be a leak."""
    found = [settings.CELERY_BROKER_URL, settings.SECRET_KEY, A_SECRET]
    if connection.vendor != "sqlite":
        found.append(str(connection.settings_dict["NAME"]))  # test database name
        found.append(f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}")
    return found


def test_a_step_of_workspace_b_reaches_nothing_of_the_server_or_of_workspace_a(
    celery_worker, step_account, live_server, crew, tmp_path
):
    if step_account is None:
        pytest.skip("needs root: steps can only run as another account when the worker is root")
    a_output, a_script = run_workspace_a(crew, tmp_path)
    _, b_token = ApiToken.issue(
        crew.other_workspace, name="B contributor", role=Role.CONTRIBUTOR, created_by=None
    )
    source = tmp_path / "b"
    source.mkdir()
    (source / "probe.py").write_text(textwrap.dedent(PROBE))
    (source / "consume.py").write_text(textwrap.dedent(CONSUME))
    ws = Workspace(live_server.url, b_token, retries=2, backoff_seconds=0.05)
    report, out = PipelineData("report"), PipelineData("out")
    common = {"source_directory": source, "allow_reuse": False, "compute_target": "cpu"}
    probe = PythonScriptStep(
        "probe.py",
        arguments=["--guesses", json.dumps(guesses(celery_worker, a_output, a_script))]
        + ["--report", report],
        outputs=[report],
        **common,
    )
    consume = PythonScriptStep(
        "consume.py",
        arguments=["--report", report, "--out", out],
        inputs=[report],
        outputs=[out],
        **common,
    )
    try:
        run = Experiment(ws, "Break out").submit(Pipeline(ws, steps=[probe, consume]))
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        probe_run = run.find_step_run("probe")[0]
        results = json.loads(probe_run.read_output_file("report", "report.json"))
        summary = run.find_step_run("consume")[0].read_output_file("out", "summary.txt")
        metrics = run.get_metrics()
    finally:
        ws._http.session.close()

    refused = {name for name, result in results.items() if not result["ok"]}
    must_fail = {"parent environ", "worker environ", "A's output", "A's script"}
    must_fail |= {name for name in results if name.startswith(("database", "broker", "list"))}
    assert must_fail <= refused, {name: results[name] for name in must_fail - refused}
    assert results["every environ"]["value"] == {}  # no other user's environment
    environment = results["own environment"]["value"]
    assert not {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} & set(environment)
    readable = json.dumps([results[name] for name in results if results[name]["ok"]])
    leaks = [secret for secret in server_secrets() if secret and secret in readable]
    assert leaks == []
    # ... while the step still did its job through its run token and the worker.
    assert environment["STUDIO_STEP_TOKEN"].startswith("pss_")
    assert metrics == {"probes": len(results), "consumed": len(results)}
    assert summary == f"{len(results)} probes".encode()


def test_output_folders_replaced_by_links_are_refused_and_links_inside_skipped(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(A_SECRET)
    outputs = tmp_path / "work" / "outputs"
    (outputs / "real" / "sub").mkdir(parents=True)
    (outputs / "real" / "ok.txt").write_text("ok")
    (outputs / "real" / "sub" / "deep.txt").write_text("deep")
    (outputs / "real" / "linked-folder").symlink_to(elsewhere)
    (outputs / "real" / "linked-file").symlink_to(elsewhere / "secret.txt")
    (outputs / "swapped").symlink_to(elsewhere)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "outputs").symlink_to(outputs)

    assert save_output(outputs / "real", "p")["files"] == ["ok.txt", "sub/deep.txt"]
    with pytest.raises(ValueError, match="replaced"):
        save_output(outputs / "swapped", "q")
    with pytest.raises(ValueError, match="replaced"):
        save_output(tmp_path / "other" / "outputs" / "real", "r")
    stored = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    assert stored == ["deep.txt", "ok.txt"]
