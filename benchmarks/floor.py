"""The machine's floor for ``benchmarks/engine.py floor``: a bare Celery app, no Django, no
database, whose one task starts ``python -c pass`` (as a step's interpreter starts) and, in a
chain, sends the next link itself (as a step's completion sends the next step).

Each task appends one byte to ``done`` when its process ended, so the benchmark counts what
finished by the file's size. The worker runs like the studio's: acks late, prefetch 1.

    FLOOR_BROKER_URL=redis://127.0.0.1:6379/3 celery -A benchmarks.floor worker -Q floor -c 2
"""

from __future__ import annotations

import os
import subprocess
import sys

from celery import Celery

app = Celery("floor", broker=os.environ.get("FLOOR_BROKER_URL", "redis://127.0.0.1:6379/3"))
app.conf.update(
    task_ignore_result=True,
    result_backend=None,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue="floor",
    broker_connection_retry_on_startup=True,
)


@app.task(name="floor.step")
def step(done: str, rest: int = 0) -> None:
    """One no-op interpreter; then the next link of a chain when ``rest`` > 0."""
    subprocess.run([sys.executable, "-c", "pass"], check=True, stdin=subprocess.DEVNULL)
    with open(done, "ab") as handle:
        handle.write(b".")
    if rest > 0:
        step.apply_async(args=[done, rest - 1], queue="floor")
