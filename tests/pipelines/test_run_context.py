"""``Run.get_context()`` outside a pipeline step prints and records nothing."""

import subprocess
import sys
from pathlib import Path

SDK_SRC = Path(__file__).resolve().parents[2] / "sdk" / "src"


def test_offline_run_prints_and_writes_nothing(tmp_path):
    script = (
        "from pipelines.sdk import Run\n"
        "run = Run.get_context()\n"
        "run.log('accuracy', 0.5); run.log_list('l', [1, 2]); run.tag('t', 'v')\n"
        "print('offline', run.offline, run.id, run.parent)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SDK_SRC), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert "[offline run] scalar accuracy = 0.5" in result.stdout
    assert "[offline run] list l = [1, 2]" in result.stdout
    assert "offline True None None" in result.stdout
    assert list(tmp_path.iterdir()) == []
