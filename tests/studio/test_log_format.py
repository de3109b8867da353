"""LOG_FORMAT=json: every log record is one JSON object on one line."""

import json
import subprocess
import sys
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
