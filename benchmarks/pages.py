"""Server time of the studio's list pages and of run pages on a full database.

Fills its own database (default ``postgres://postgres@127.0.0.1:5432/bench_pages``; a
``DATABASE_URL`` of ``sqlite:////path/bench.sqlite3`` measures SQLite instead) once with
1,000 endpoints (each a version of its own published pipeline), 100,000 runs over 50
experiments with three metrics each (accuracy, loss, f1), one run of 20 steps with logs,
outputs and metrics, 10 runs of 50 metrics each for the compare page, and two running runs of
10,000 steps (a fan-out: prepare, 9,998 copies of a step in one group, report, with a metric
per finished copy; and 10,000 independent steps without a group); then times each page
through Django's test client (the whole request: middleware, queries, templates) and prints
one JSON line per page: bench, n (rows behind the page), median_s, min_s, runs. Goals: median
under 50 ms for the lists, under 100 ms for the run page of 10,000 steps and its live refresh.

The ``run_page`` figures also give the run page on its first view (its graph layout not yet
in the cache: the one time the 10,000-step graph document is loaded), and ``run_page_memory``
the process's resident memory (``rss_mb``) before them and its peak while serving them
(``peak_rss_mb``, the kernel's high-water mark reset just before).

    .venv/bin/python benchmarks/pages.py [--runs 30] [--refill] [--only run_list,run_page]
    DATABASE_URL=sqlite:////tmp/bench-pages.sqlite3 .venv/bin/python benchmarks/pages.py

``--only`` times the pages whose bench name contains one of the comma-separated words.
Metrics are stored as the studio stores them (``Metric.log``, which keeps each run's latest
value per name that runs tables sort by).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ENDPOINTS = 1_000
RUNS = 100_000
EXPERIMENTS = 50
STEPS = 20
LARGE_STEPS = 10_000
BATCH = 5_000
COMPARED = 10
COMPARED_METRICS = 50
WORKSPACE = "bench-pages"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_pages")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("STUDIO_VAR_DIR", "/tmp/bench-pages-var")
# Production-like: no debug toolbar of queries kept in memory, cached templates.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATIC_ROOT", "/tmp/bench-pages-var/static")
for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(name, "0")


def ensure_database() -> None:
    """Create the benchmark database when it does not exist yet (SQLite creates its file)."""
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(refill: bool):
    """The benchmark workspace, its admin and the 20-step run, filling the rows if needed."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from endpoints.models import PipelineEndpoint, PipelineEndpointVersion
    from pipelines.models import Experiment, Metric, PipelineRun, PublishedPipeline, StepRun
    from studio.models import Membership, Role, Workspace

    workspace = Workspace.objects.filter(slug=WORKSPACE).first()
    if workspace is not None and refill:
        PipelineRun.objects.filter(workspace=workspace).delete()
        PipelineEndpoint.objects.filter(workspace=workspace).delete()
        workspace.delete()
        workspace = None
    if workspace is not None:
        admin = get_user_model().objects.get(username="bench-admin")
        return admin, PipelineRun.objects.get(workspace=workspace, description="twenty steps")

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        workspace = Workspace.objects.create(name="Bench pages", slug=WORKSPACE)
        admin, _ = get_user_model().objects.get_or_create(username="bench-admin")
        Membership.objects.create(workspace=workspace, user=admin, role=Role.ADMIN)
        graph = {
            "parameters": [{"name": "pipeline_arg", "type": "int", "default_value": 10}],
            "steps": [_ladder_step(i) for i in range(STEPS)],
        }
        published = PublishedPipeline.objects.bulk_create(
            PublishedPipeline(
                workspace=workspace,
                name=f"pipeline-{i:04}",
                version="1.0",
                graph=graph,
                published_by=admin,
                published_by_label=admin.username,
                published_at=now - timedelta(minutes=i),
                status="Disabled" if i % 10 == 9 else "Active",
            )
            for i in range(ENDPOINTS)
        )
        endpoints = PipelineEndpoint.objects.bulk_create(
            PipelineEndpoint(
                workspace=workspace,
                name=f"endpoint-{i:04}",
                description=f"Scores batch {i} of the nightly data",
            )
            for i in range(ENDPOINTS)
        )
        PipelineEndpointVersion.objects.bulk_create(
            PipelineEndpointVersion(
                endpoint=endpoint, number=0, published_pipeline=item, is_default=True
            )
            for endpoint, item in zip(endpoints, published, strict=True)
        )
        experiments = Experiment.objects.bulk_create(
            Experiment(workspace=workspace, name=f"experiment-{i:02}") for i in range(EXPERIMENTS)
        )
    statuses = ["Finished"] * 8 + ["Failed", "Canceled"]
    for start in range(0, RUNS, BATCH):
        with transaction.atomic():
            runs = PipelineRun.objects.bulk_create(
                PipelineRun(
                    workspace=workspace,
                    experiment=experiments[i % EXPERIMENTS],
                    pipeline_endpoint=endpoints[i % ENDPOINTS],
                    published_pipeline=published[i % ENDPOINTS],
                    endpoint_version="0",
                    graph=graph,
                    parameters={"pipeline_arg": i % 100},
                    status=statuses[i % len(statuses)],
                    run_source="API",
                    submitted_by=admin,
                    submitted_by_label=admin.username,
                    created_at=now - timedelta(seconds=60 * (RUNS - i)),
                    started_at=now - timedelta(seconds=60 * (RUNS - i) - 2),
                    finished_at=now - timedelta(seconds=60 * (RUNS - i) - 2 - i % 50),
                )
                for i in range(start, min(RUNS, start + BATCH))
            )
            Metric.log(
                [
                    Metric(run=run, name=name, value=value)
                    for run in runs
                    for name, value in (
                        ("accuracy", 0.5 + (run.pk % 50) / 100),
                        ("loss", (run.pk % 37) / 40),
                        ("f1", 0.4 + (run.pk % 23) / 50),
                    )
                ]
            )
    with transaction.atomic():
        run = PipelineRun.objects.create(
            workspace=workspace,
            experiment=experiments[0],
            pipeline_endpoint=endpoints[0],
            published_pipeline=published[0],
            endpoint_version="0",
            graph=graph,
            parameters={"pipeline_arg": 10},
            status="Running",
            description="twenty steps",
            submitted_by=admin,
            started_at=now,
        )
        steps = StepRun.objects.bulk_create(
            StepRun(
                run=run,
                name=f"step-{i:02}",
                position=i,
                status="Finished" if i < 15 else "Running" if i == 15 else "NotStarted",
                started_at=now if i <= 15 else None,
                finished_at=now + timedelta(seconds=3) if i < 15 else None,
                log="".join(f"step {i} line {n}: training batch\n" for n in range(300)),
                outputs={f"out{i}": {"path": f"bench/{i}", "files": ["a.csv", "b.json"]}},
            )
            for i in range(STEPS)
        )
        Metric.log(
            [
                Metric(run=run, step_run=step, name=f"loss-{step.position}", value=0.1)
                for step in steps
            ]
        )
    compared = PipelineRun.objects.bulk_create(
        PipelineRun(
            workspace=workspace,
            experiment=experiments[1],
            pipeline_endpoint=endpoints[1],
            published_pipeline=published[1],
            endpoint_version="0",
            graph=graph,
            parameters={"pipeline_arg": i, "learning_rate": 0.1 / (i + 1), "tag": f"t{i % 3}"},
            status="Finished",
            description="compared",
            submitted_by=admin,
            started_at=now - timedelta(seconds=90),
            finished_at=now - timedelta(seconds=i),
        )
        for i in range(COMPARED)
    )
    Metric.log(
        [
            Metric(run=run, name=f"metric-{m:02}", value=(run.pk * 7 + m) % 100 / 100)
            for run in compared
            for m in range(COMPARED_METRICS)
        ]
    )
    from django.db import connection

    with connection.cursor() as cursor:  # statistics and visibility map, as autovacuum leaves them
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        json.dumps({"fill_s": round(time.perf_counter() - started, 1), "runs": RUNS}),
        file=sys.stderr,
    )
    return admin, run


def fill_large_runs(workspace, admin):
    """The two running runs of ``LARGE_STEPS`` steps: a fan-out and a wide one (see above)."""
    from django.db import transaction
    from django.utils import timezone

    from pipelines.models import Experiment, Metric, PipelineRun, StepRun

    runs = {
        run.description: run
        for run in PipelineRun.objects.filter(
            workspace=workspace, description__in=["fan-out of 10000", "wide 10000"]
        ).defer("graph")
    }
    if len(runs) == 2:
        return runs["fan-out of 10000"], runs["wide 10000"]
    started = time.perf_counter()
    now = timezone.now()
    copies = LARGE_STEPS - 2
    fan_out = [_large_step("prepare", outputs=["model"])]
    fan_out += [
        _large_step(f"score[{i}]", inputs=["model"], arguments=["--shard", i], group="score")
        for i in range(copies)
    ]
    fan_out.append(_large_step("report", run_after=[f"score[{i}]" for i in range(copies)]))
    wide = [_large_step(f"step-{i:05}") for i in range(LARGE_STEPS)]
    experiment = Experiment.objects.get(workspace=workspace, name="experiment-00")

    def status(i: int) -> str:  # 6,000 done (a few failed), 4 running, the rest waiting
        if i < 6_000:
            return "Failed" if i % 997 == 5 else "Finished"
        return "Running" if i < 6_004 else "NotStarted"

    made = []
    for description, steps in (("fan-out of 10000", fan_out), ("wide 10000", wide)):
        with transaction.atomic():
            run = PipelineRun.objects.create(
                workspace=workspace,
                experiment=experiment,
                graph={"parameters": [], "steps": steps},
                parameters={},
                status="Running",
                description=description,
                submitted_by=admin,
                submitted_by_label=admin.username,
                started_at=now,
            )
            rows = StepRun.objects.bulk_create(
                StepRun(
                    run=run,
                    name=spec["name"],
                    position=i,
                    status=status(i),
                    started_at=now if status(i) != "NotStarted" else None,
                    finished_at=now + timedelta(seconds=2) if i < 6_000 else None,
                    log=f"scoring shard {i}\n" * 20,
                )
                for i, spec in enumerate(steps)
            )
            if description.startswith("fan-out"):
                Metric.objects.bulk_create(
                    Metric(run=run, step_run=row, name="rows_scored", value=row.position * 10)
                    for row in rows
                    if row.status == "Finished"
                )
            made.append(run)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(json.dumps({"fill_large_s": round(time.perf_counter() - started, 1)}), file=sys.stderr)
    return made[0], made[1]


def _step(
    name: str,
    script_name: str,
    snapshot: str,
    inputs=(),
    outputs=(),
    arguments=(),
    run_after=(),
    group=None,
) -> dict:
    """A step of a normalised graph document."""
    spec = {
        "name": name,
        "script_name": script_name,
        "snapshot": snapshot,
        "arguments": list(arguments),
        "inputs": list(inputs),
        "outputs": list(outputs),
        "compute_target": "cpu",
        "allow_reuse": True,
        "timeout_seconds": 3600,
        "run_after": list(run_after),
    }
    if group:
        spec["group"] = group
    return spec


def _large_step(name: str, **fields) -> dict:
    """A step of the large runs."""
    return _step(name, "score.py", "1" * 64, **fields)


def _ladder_step(i: int) -> dict:
    """Steps in a diamond-ish ladder: each reads the output of the step two before it."""
    inputs = [f"data{i - 2}"] if i >= 2 else []
    return _step(f"step-{i:02}", "step.py", "0" * 64, inputs=inputs, outputs=[f"data{i}"])


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure_first_view(client, name: str, url: str, n: int, runs: int) -> dict:
    """Like :func:`measure`, the layout cache emptied before each request."""
    from django.core.cache import cache

    return _timed(client, name, url, n, runs, {}, (200,), before=cache.clear)


def compared_ids(workspace) -> list[int]:
    """The 10 runs of 50 metrics each that the compare page shows."""
    from pipelines.models import PipelineRun

    runs = PipelineRun.objects.filter(workspace=workspace, description="compared").order_by("pk")
    return list(runs.values_list("pk", flat=True))


def measure(client, name: str, url: str, n: int, runs: int, headers=None) -> dict:
    """Median and minimum seconds of ``runs`` GETs of ``url`` after two warm-ups."""
    headers = headers or {}
    # An idle watch that finds nothing new answers 204 (no content) by design.
    expected = (204,) if headers.get("HTTP_HX_TRIGGER") == "idle-watch" else (200, 286)
    for _ in range(2):
        response = client.get(url, **headers)
        assert response.status_code in expected, (url, response.status_code)
    return _timed(client, name, url, n, runs, headers, expected)


def _timed(client, name, url, n, runs, headers, expected, before=None) -> dict:
    """The figure of ``runs`` timed GETs of ``url`` (``before()`` called ahead of each)."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(url, **headers)
        times.append(time.perf_counter() - started)
        # A timed error page would be a fast page of nothing.
        assert response.status_code in expected, (url, response.status_code)
    return {
        "bench": name,
        "n": n,
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--refill", action="store_true", help="delete and refill the rows")
    parser.add_argument(
        "--only", default="", help="comma-separated words: time the pages whose name has one"
    )
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from endpoints.models import PipelineEndpoint
    from pipelines.models import PipelineRun, PublishedPipeline

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest of DEBUG=0
    admin, run = fill(args.refill)
    workspace = run.workspace
    fan_out, wide = fill_large_runs(workspace, admin)
    client = Client()
    client.force_login(admin)
    endpoint = PipelineEndpoint.objects.get(workspace=workspace, name="endpoint-0000")
    runs_of = PipelineRun.objects.filter(workspace=workspace)
    pages = [
        ("endpoint_list", "/endpoints/", ENDPOINTS, None),
        (
            "endpoint_search",
            "/endpoints/?q=endpoint-09",
            100,
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"},
        ),
        ("endpoint_list_last_page", "/endpoints/?page=40", ENDPOINTS, None),
        (
            "published_list",
            "/published/",
            PublishedPipeline.objects.filter(workspace=workspace, status="Active").count(),
            None,
        ),
        ("run_list", "/runs/", runs_of.count(), None),
        ("run_list_failed", "/runs/?status=Failed", runs_of.filter(status="Failed").count(), None),
        ("run_list_page_100", "/runs/?page=100", runs_of.count(), None),
        (
            "endpoint_runs",
            f"/endpoints/{endpoint.pk}/runs/",
            runs_of.filter(pipeline_endpoint=endpoint).count(),
            None,
        ),
        ("experiment_list", "/experiments/", 50, None),
        (
            "experiment_runs",
            f"/experiments/{run.experiment_id}/",
            runs_of.filter(experiment_id=run.experiment_id).count(),
            None,
        ),
        (
            "run_list_3_metric_columns",
            "/runs/?metrics=accuracy&metrics=loss&metrics=f1",
            runs_of.count(),
            None,
        ),
        (
            "run_list_3_metric_columns_htmx",
            "/runs/?metrics=accuracy&metrics=loss&metrics=f1",
            runs_of.count(),
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"},
        ),
        (
            "run_list_idle_watch",
            "/runs/?status=Failed",
            runs_of.filter(status="Failed").count(),
            {
                "HTTP_HX_REQUEST": "true",
                "HTTP_HX_TARGET": "results",
                "HTTP_HX_TRIGGER": "idle-watch",
                "HTTP_X_STUDIO_SINCE": str(
                    runs_of.filter(status="Failed").order_by("-pk").values_list("pk", flat=True)[0]
                ),
            },
        ),
        (
            "run_list_sorted_by_metric",
            "/runs/?metrics=accuracy&sort=-metric:accuracy",
            runs_of.count(),
            None,
        ),
        (
            "compare_10_runs_50_metrics",
            "/runs/compare/?runs=" + ",".join(str(pk) for pk in compared_ids(workspace)),
            COMPARED * COMPARED_METRICS,
            None,
        ),
        ("run_page_20_steps", f"/runs/{run.pk}/", STEPS, None),
        (
            "run_page_live_poll",
            f"/runs/{run.pk}/",
            STEPS,
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "run-live"},
        ),
    ]
    live = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "run-live"}
    large = [
        ("run_page_10000_steps", f"/runs/{fan_out.pk}/", LARGE_STEPS, None),
        ("run_page_10000_steps_live_poll", f"/runs/{fan_out.pk}/", LARGE_STEPS, live),
        (
            "run_page_10000_steps_group_page_150",
            f"/runs/{fan_out.pk}/?group=score&page=150",
            LARGE_STEPS,
            None,
        ),
        ("run_page_10000_steps_failed", f"/runs/{fan_out.pk}/?status=Failed", LARGE_STEPS, None),
        ("run_page_10000_wide", f"/runs/{wide.pk}/", LARGE_STEPS, None),
        ("run_page_10000_wide_live_poll", f"/runs/{wide.pk}/", LARGE_STEPS, live),
    ]
    only = [word for word in args.only.split(",") if word]

    def chosen(name: str) -> bool:
        return not only or any(word in name for word in only)

    for name, url, n, headers in pages:
        if chosen(name):
            print(json.dumps(measure(client, name, url, n, args.runs, headers)), flush=True)
    timed = [page for page in large if chosen(page[0])]
    if not timed:
        return
    import gc

    gc.collect()
    before = rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    for name, url, n, headers in timed:
        print(json.dumps(measure(client, name, url, n, args.runs, headers)), flush=True)
    first_view = measure_first_view(
        client, "run_page_10000_steps_first_view", f"/runs/{fan_out.pk}/", LARGE_STEPS, args.runs
    )
    print(json.dumps(first_view), flush=True)
    memory = {"bench": "run_page_memory", "n": LARGE_STEPS, "rss_mb": before}
    memory["peak_rss_mb"] = rss_mb("VmHWM")
    print(json.dumps(memory), flush=True)


if __name__ == "__main__":
    main()
