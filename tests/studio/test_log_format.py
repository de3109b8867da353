"""LOG_FORMAT=json: every log record is one JSON object on one line."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG_SOME = """
import logging
log = logging.getLogger("studio.ops")
log.warning("two\\nlines", extra={"run_id": 7})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("step failed")
"""


def manage_shell(log_format: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ("shell", "-c", LOG_SOME))],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": log_format, "STUDIO_VAR_DIR": "var/test"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_logs_are_one_object_per_line_with_extra_fields_and_tracebacks():
    result = manage_shell("json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("WARNING", "studio.ops", "two\nlines"),
        ("ERROR", "studio.ops", "step failed"),
    ]
    assert records[0]["run_id"] == 7
    assert records[1]["exc_info"].endswith("ZeroDivisionError: division by zero")
    assert records[0]["time"].endswith("+00:00")


def test_plain_logs_stay_the_default_and_an_unknown_format_is_refused():
    assert "WARNING studio.ops two" in manage_shell("plain").stderr
    refused = manage_shell("xml", "check")
    assert refused.returncode != 0
    assert "LOG_FORMAT must be plain or json" in refused.stderr


def test_a_celery_worker_logs_json_too(tmp_path):
    """Celery keeps the settings' handlers instead of installing its own format: the worker's
    own records (its "ready." line) are JSON objects, none in Celery's "[time: LEVEL/...]"."""
    output = tmp_path / "worker.out"
    env = {
        "PATH": "/usr/bin:/bin",
        "LOG_FORMAT": "json",
        "STUDIO_VAR_DIR": str(tmp_path),  # its own embedded database and broker
        "PYTHONUNBUFFERED": "1",
    }
    with output.open("wb") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "studio", "worker", "-c", "1",
             "-n", "json@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while " ready." not in output.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    lines = output.read_text(errors="replace").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    ready = [r for r in records if r["message"].endswith(" ready.")]
    assert [(r["level"], r["logger"]) for r in ready] == [("INFO", "celery.apps.worker")]
    assert not [line for line in lines if re.match(r"\[\d{4}-\d\d-\d\d .*: \w+/", line)]
