"""Benchmark of the execution engine; prints one JSON line per measurement.

Usage (PostgreSQL + Redis, two worker processes started by the benchmark itself)::

    createdb -h 127.0.0.1 -U postgres studio_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 STUDIO_VAR_DIR=/tmp/studio-bench \\
        .venv/bin/python benchmarks/engine.py

Measurements:
- ``interpreter``: starting ``python noop.py`` alone, as the worker starts it (20 times).
- ``chain5``: submit-to-Finished time of a 5-step chain of no-op steps (20 runs, one at a
  time), and ``overhead_ms``: the time per step beyond starting the interpreter.
- ``burst``: 200 one-step runs submitted at once by 4 clients; runs finished per minute, and
  the median and least time of one run from submit to Finished.
- ``submit_broker_down``: a submit while the broker cannot be reached is kept (NotStarted)
  and answered at once rather than waiting on the broker (20 submits).
- ``workers``: one run of 200 independent no-op steps on 1, 2 and 4 worker processes
  (separate ``celery worker -c 1``, as on separate machines); steps finished per second.
  ``benchmarks/engine.py workers`` measures only this one.
- ``floor``: the machine's floor, measured here in the same hour: a bare Celery app
  (``benchmarks/floor.py``: no Django, no database) whose task starts ``python -c pass``;
  a 5-link chain where each task sends the next (20 times), and N independent tasks on one
  worker of 2 processes for each N of ``wide``.
- ``wide``: one run of N independent no-op steps for N = 20, 200, 2,000 and 10,000 on one
  worker of 2 processes: wall time from submit to Finished, ms per step, steps per second,
  the submit's own time, the worker's peak RSS (all its processes), and ``floor_ratio``:
  ms per step over the floor's at the same N. ``chain5`` gets a ``floor_ratio`` too.
  ``benchmarks/engine.py wide [N ...]`` measures the floor and then only this one (the
  N given, e.g. ``wide 20 200 2000`` on a slow machine); ``engine.py floor`` only the floor.
- ``engine.py chain`` measures only ``interpreter``, the floor's chain and ``chain5`` (the
  per-step overhead), in about a minute.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from pipelines.engine import submit_run  # noqa: E402
from pipelines.graph import validate_graph  # noqa: E402
from pipelines.models import PipelineRun, RunStatus  # noqa: E402
from pipelines.snapshots import snapshot_from_folder  # noqa: E402
from studio.models import Workspace  # noqa: E402

CHAIN_RUNS = 20
BURST_RUNS = 200
BURST_CLIENTS = 4
WIDE_STEPS = 200
WORKER_PROCESSES = (1, 2, 4)
WIDE_SIZES = (20, 200, 2000, 10000)
FLOOR_CHAINS = 20


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def start_workers(concurrency: int = 2, name: str = "bench") -> subprocess.Popen:
    log = open(Path(tempfile.gettempdir()) / f"studio-{name}-worker.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "studio",
            "worker",
            "-Q",
            "studio,cpu",
            "-c",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(6)  # let it connect; the first measurement waits for its first run anyway
    return process


def stop_worker(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def wait_finished(run_ids: list[int], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (
        PipelineRun.objects.filter(pk__in=run_ids).exclude(status__in=RunStatus.terminal()).exists()
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("runs did not finish")
        time.sleep(0.005)


def interpreter_start(script: Path) -> list[float]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(settings.SDK_SRC),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    times = []
    for _ in range(20):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(script)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - started)
    return times


def main(chain_only: bool = False) -> None:
    workspace, snapshot, source = setup()

    def graph(length: int) -> dict:
        steps = [
            {
                "name": f"s{i}",
                "script_name": "noop.py",
                "snapshot": snapshot.sha256,
                "allow_reuse": False,
                "run_after": [f"s{i - 1}"] if i else [],
            }
            for i in range(length)
        ]
        return validate_graph({"parameters": [], "steps": steps}, workspace)

    def submit(g: dict) -> PipelineRun:
        return submit_run(
            workspace=workspace,
            graph=g,
            experiment_name="bench",
            parameters={},
            by=None,
            run_source="API",
        )

    interpreter = interpreter_start(source / "noop.py")
    emit(
        bench="interpreter",
        n=len(interpreter),
        median_s=round(statistics.median(interpreter), 4),
        min_s=round(min(interpreter), 4),
    )

    if chain_only:
        floor_figures = floor([])
        worker = start_workers()
        try:
            chain5(submit, graph(5), interpreter, floor_figures)
        finally:
            stop_worker(worker)
        return

    down, kept = [], []
    reachable = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        for _ in range(20):
            started = time.perf_counter()
            run = submit(graph(1))
            down.append(time.perf_counter() - started)
            kept.append(run.pk)
            assert run.status == RunStatus.NOT_STARTED, run.status
    finally:
        settings.CELERY_BROKER_URL = reachable
        # Not left for the dispatcher to send into the measurements below.
        PipelineRun.objects.filter(pk__in=kept).delete()
    emit(
        bench="submit_broker_down",
        n=len(down),
        median_s=round(statistics.median(down), 4),
        min_s=round(min(down), 4),
        p99_ms=round(percentile(down, 0.99) * 1000, 1),
    )

    floor_figures = floor()
    worker = start_workers()
    try:
        chain5(submit, graph(5), interpreter, floor_figures)
        single = graph(1)
        ids, latencies, errors = [], [], []
        lock = threading.Lock()

        def client():
            try:
                for _ in range(BURST_RUNS // BURST_CLIENTS):
                    started = time.perf_counter()
                    run_id = submit(single).pk
                    with lock:
                        ids.append(run_id)
                        latencies.append(time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(repr(error))
            finally:
                connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(BURST_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        submitted = time.perf_counter() - started
        wait_finished(ids)
        elapsed = time.perf_counter() - started
        done = PipelineRun.objects.filter(pk__in=ids, status=RunStatus.FINISHED)
        finished = done.count()
        # Each run's own time from submit to Finished; the burst's total is in rps.
        per_run = [
            (run.finished_at - run.created_at).total_seconds()
            for run in done.only("created_at", "finished_at")
        ]
        emit(
            bench="submit",
            clients=BURST_CLIENTS,
            n=len(ids),
            rps=round(len(ids) / submitted, 1),
            p50_ms=round(percentile(latencies, 0.5) * 1000, 1),
            p99_ms=round(percentile(latencies, 0.99) * 1000, 1),
            errors=len(errors),
        )
        emit(
            bench="burst",
            clients=BURST_CLIENTS,
            runs=len(ids),
            n=finished,
            median_s=round(statistics.median(per_run), 2) if per_run else None,
            min_s=round(min(per_run), 2) if per_run else None,
            rps=round(finished / elapsed, 2),
            runs_per_minute=round(finished / elapsed * 60),
            errors=len(ids) - finished,
        )
    finally:
        stop_worker(worker)
    wide(workspace, snapshot, WIDE_SIZES, floor_figures)
    worker_processes(workspace, snapshot)


def chain5(submit, chain: dict, interpreter: list[float], floor_figures: dict) -> None:
    """Submit-to-Finished of the 5-step ``chain``, one run at a time, on the running worker,
    and the overhead per step beyond starting the interpreter."""
    wait_finished([submit(chain).pk])  # warm-up: worker connected, snapshot unpacked
    durations, chain_ids = [], []
    for _ in range(CHAIN_RUNS):
        started = time.perf_counter()
        chain_ids.append(submit(chain).pk)
        wait_finished(chain_ids[-1:])
        durations.append(time.perf_counter() - started)
    median = statistics.median(durations)
    overhead_ms = (median / 5 - statistics.median(interpreter)) * 1000
    emit(
        bench="chain5",
        runs=CHAIN_RUNS,
        n=5 * CHAIN_RUNS,
        median_s=round(median, 4),
        min_s=round(min(durations), 4),
        p99_ms=round(percentile(durations, 0.99) * 1000, 1),
        overhead_ms=round(overhead_ms, 1),
        floor_ratio=round(median / floor_figures["chain5"], 2),
        errors=PipelineRun.objects.filter(pk__in=chain_ids)
        .exclude(status=RunStatus.FINISHED)
        .count(),
    )


def worker_processes(workspace, snapshot) -> None:
    """Steps finished per second for one run of WIDE_STEPS independent steps, on 1, 2 and 4
    worker processes of one pool process each."""
    steps = [
        {"name": f"w{i}", "script_name": "noop.py", "snapshot": snapshot.sha256,
         "allow_reuse": False}
        for i in range(WIDE_STEPS)
    ]  # fmt: skip
    wide = validate_graph({"parameters": [], "steps": steps}, workspace)
    warm = validate_graph({"parameters": [], "steps": steps[:1]}, workspace)

    def submit(graph: dict) -> PipelineRun:
        return submit_run(workspace=workspace, graph=graph, experiment_name="bench-workers",
                          parameters={}, by=None, run_source="API")  # fmt: skip

    for count in WORKER_PROCESSES:
        workers = [start_workers(concurrency=1, name=f"wide{count}-{i}") for i in range(count)]
        try:
            wait_finished([submit(warm).pk])  # connected, snapshot unpacked
            started = time.perf_counter()
            run = submit(wide)
            wait_finished([run.pk])
            elapsed = time.perf_counter() - started
            finished = run.steps.filter(status=RunStatus.FINISHED).count()
            emit(
                bench="workers",
                processes=count,
                n=finished,
                median_s=round(elapsed, 2),
                rps=round(finished / elapsed, 2),
                errors=WIDE_STEPS - finished,
            )
        finally:
            for worker in workers:
                stop_worker(worker)


def setup() -> tuple:
    """The bench workspace, a snapshot holding ``noop.py`` and its source folder."""
    call_command("migrate", verbosity=0)
    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    source = Path(tempfile.mkdtemp())
    (source / "noop.py").write_text("pass\n")
    return workspace, snapshot_from_folder(workspace, source)[0], source


def process_tree_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` and every process below it."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                todo += [int(child) for child in children.split()]
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class PeakRss(threading.Thread):
    """Samples a process tree's RSS every 0.2 s while running; ``peak`` in bytes."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak = max(self.peak, process_tree_rss(self.pid))

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak


def start_floor_worker(concurrency: int = 2) -> subprocess.Popen:
    log = open(Path(tempfile.gettempdir()) / "studio-floor-worker.log", "wb")  # noqa: SIM115
    env = {**os.environ, "FLOOR_BROKER_URL": settings.CELERY_BROKER_URL}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "benchmarks.floor", "worker",
         "-Q", "floor", "-c", str(concurrency), "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-n", f"floor-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    time.sleep(6)
    return process


def wait_size(path: Path, size: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size < size:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not reach {size} bytes")
        time.sleep(0.005)


def floor(sizes=WIDE_SIZES) -> dict:
    """The floor's figures: ``{"chain5": seconds, n: ms per step, ...}``, each also printed."""
    os.environ["FLOOR_BROKER_URL"] = settings.CELERY_BROKER_URL
    from benchmarks.floor import step

    folder = Path(tempfile.mkdtemp(prefix="studio-floor-"))
    worker = start_floor_worker()
    figures: dict = {}
    try:
        warm = folder / "warm"
        step.apply_async(args=[str(warm)], queue="floor")
        wait_size(warm, 1)
        durations = []
        for index in range(FLOOR_CHAINS):
            done = folder / f"chain{index}"
            started = time.perf_counter()
            step.apply_async(args=[str(done), 4], queue="floor")
            wait_size(done, 5)
            durations.append(time.perf_counter() - started)
        figures["chain5"] = statistics.median(durations)
        emit(
            bench="floor",
            shape="chain5",
            runs=FLOOR_CHAINS,
            n=5 * FLOOR_CHAINS,
            median_s=round(figures["chain5"], 4),
            min_s=round(min(durations), 4),
            p99_ms=round(percentile(durations, 0.99) * 1000, 1),
        )
        for size in sizes:
            done = folder / f"wide{size}"
            started = time.perf_counter()
            for _ in range(size):
                step.apply_async(args=[str(done)], queue="floor")
            wait_size(done, size)
            elapsed = time.perf_counter() - started
            figures[size] = elapsed * 1000 / size
            emit(
                bench="floor",
                shape="wide",
                processes=2,
                n=size,
                median_s=round(elapsed, 2),
                ms_per_step=round(figures[size], 2),
                rps=round(size / elapsed, 2),
            )
    finally:
        stop_worker(worker)
    return figures


def wide(workspace, snapshot, sizes=WIDE_SIZES, floor_figures: dict | None = None) -> None:
    """One run of N independent no-op steps on one worker of 2 processes, for each N."""
    settings.STUDIO_MAX_STEPS = max(settings.STUDIO_MAX_STEPS, *sizes)

    def graph(size: int) -> dict:
        steps = [
            {"name": f"w{i}", "script_name": "noop.py", "snapshot": snapshot.sha256,
             "allow_reuse": False}
            for i in range(size)
        ]  # fmt: skip
        return validate_graph({"parameters": [], "steps": steps}, workspace)

    def submit(graph: dict) -> PipelineRun:
        return submit_run(workspace=workspace, graph=graph, experiment_name="bench-wide",
                          parameters={}, by=None, run_source="API")  # fmt: skip

    worker = start_workers(concurrency=2, name="wide")
    try:
        wait_finished([submit(graph(2)).pk])  # connected, snapshot unpacked
        for size in sizes:
            document = graph(size)
            rss = PeakRss(worker.pid)
            rss.start()
            started = time.perf_counter()
            run = submit(document)
            submitted = time.perf_counter() - started
            wait_finished([run.pk], timeout=3600)
            elapsed = time.perf_counter() - started
            peak = rss.stop()
            finished = run.steps.filter(status=RunStatus.FINISHED).count()
            per_step = elapsed * 1000 / size
            figure = dict(
                bench="wide",
                processes=2,
                n=finished,
                median_s=round(elapsed, 2),
                ms_per_step=round(per_step, 2),
                rps=round(finished / elapsed, 2),
                submit_s=round(submitted, 3),
                worker_rss_mb=round(peak / 2**20, 1),
                errors=size - finished,
            )
            if floor_figures and size in floor_figures:
                figure["floor_ratio"] = round(per_step / floor_figures[size], 2)
            emit(**figure)
    finally:
        stop_worker(worker)


if __name__ == "__main__":
    command, arguments = (sys.argv[1:2] or [""])[0], sys.argv[2:]
    if command == "workers":
        worker_processes(*setup()[:2])
    elif command == "floor":
        floor([int(n) for n in arguments] or WIDE_SIZES)
    elif command == "chain":
        main(chain_only=True)
    elif command == "wide":
        sizes = [int(n) for n in arguments] or list(WIDE_SIZES)
        bench_workspace, bench_snapshot, _ = setup()
        wide(bench_workspace, bench_snapshot, sizes, floor(sizes))
    else:
        main()
