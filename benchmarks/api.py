"""Throughput and latency of the REST API on the production stack: gunicorn, PostgreSQL, Redis.

Prepares its own database (default ``postgres://postgres@127.0.0.1:5432/bench_api``, emptied
first) with a workspace, a Contributor token and a published pipeline behind an endpoint,
starts gunicorn with production settings (DEBUG=0; SECURE_SSL_REDIRECT=0 for plain HTTP on
loopback) and the Celery broker on Redis (default db 4, flushed before and after; no worker
runs, so submitted runs stay Queued), then measures over real HTTP:

- ``submit``: ``POST /api/v1/pipeline-endpoints/{id}/runs`` with 1 client, then 8 clients;
- ``submit_idempotent``: the same with a new ``Idempotency-Key`` on each request, as the SDK
  sends;
- ``run_detail``: ``GET /api/v1/runs/{id}`` with 1 client, then 8 clients.

gunicorn runs as the Dockerfile runs it: 3 gthread workers with 4 threads each (keep-alive,
so each client thread keeps one connection, as ``requests.Session`` and the SDK do).

Prints one JSON line per measurement: bench, clients, n, rps, p50_ms, p99_ms, errors, and
server_cpu_ms (CPU time of the gunicorn processes per request, which does not depend on what
else the machine is doing).
Goal: at least 300 submits/s with 8 clients and p99 under 100 ms.

    .venv/bin/python benchmarks/api.py [--requests 2000] [--workers 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_api")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="bench-api-var-"))
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + secrets.token_urlsafe(40))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(name, "0")


def reset_database() -> None:
    """Drop and create the benchmark database, so every run starts from the same state."""
    import psycopg

    base, _, name = os.environ["DATABASE_URL"].rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()


def prepare() -> tuple[str, int]:
    """Migrate, then create what the requests need; returns (token secret, endpoint id)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from endpoints.models import PipelineEndpoint
    from pipelines.graph import validate_graph
    from pipelines.models import Pipeline, PublishedPipeline
    from pipelines.snapshots import pack_folder, store_snapshot
    from studio.models import ApiToken, Membership, Role, Workspace

    workspace = Workspace.objects.create(name="Bench API", slug="bench-api")
    admin = get_user_model().objects.create_user(username="bench-admin")
    Membership.objects.create(workspace=workspace, user=admin, role=Role.ADMIN)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "train.py").write_text("print('hello')\n")
        snapshot, _ = store_snapshot(workspace, pack_folder(folder), by=admin)
    graph = validate_graph(
        {
            "parameters": [{"name": "epochs", "default_value": 10}],
            "steps": [
                {
                    "name": "train",
                    "script_name": "train.py",
                    "snapshot": snapshot.sha256,
                    "arguments": ["--epochs", {"parameter": "epochs"}],
                    "outputs": ["model"],
                },
                {
                    "name": "score",
                    "script_name": "train.py",
                    "snapshot": snapshot.sha256,
                    "inputs": ["model"],
                },
            ],
        },
        workspace,
    )
    pipeline = Pipeline.objects.create(workspace=workspace, name="Bench", graph=graph)
    published = PublishedPipeline.publish_from(pipeline, name="Bench", version="1", by=admin)
    endpoint = PipelineEndpoint.publish(workspace, name="Bench", published=published, by=admin)
    _, secret = ApiToken.issue(workspace, name="bench", role=Role.CONTRIBUTOR, created_by=admin)
    return secret, endpoint.pk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int, threads: int = 1) -> subprocess.Popen:
    """Start gunicorn: sync workers, or gthread workers (keep-alive) when ``threads`` > 1."""
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "studio.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer within 30 seconds")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by gunicorn's master and workers, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if server.pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(port: int, clients: int, n: int, request) -> dict:
    """Send ``n`` requests from ``clients`` threads; ``request(conn, i)`` says whether the
    answer was the expected one. ``rps`` and the latencies count those only."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(n))

    def client():
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, failed = [], 0
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            try:
                ok = request(conn, i)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            # Rate and latencies count answered requests only; failures are ``errors``.
            if ok:
                mine.append(time.perf_counter() - started)
            failed += not ok
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "n": n,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)
        if latencies
        else None,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    args = parser.parse_args()

    reset_database()
    flush_broker()
    secret, endpoint_id = prepare()
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    run_ids: list[str] = []

    def submit(conn, i, extra_headers=None):
        body = {"ExperimentName": "Bench", "ParameterAssignments": {"epochs": i % 50}}
        conn.request(
            "POST",
            f"/api/v1/pipeline-endpoints/{endpoint_id}/runs",
            json.dumps(body),
            {**headers, **(extra_headers or {})},
        )
        response = conn.getresponse()
        payload = response.read()
        if response.status == 201 and len(run_ids) < 1000:
            run_ids.append(json.loads(payload)["Id"])
        return response.status == 201

    def submit_idempotent(conn, i):
        return submit(conn, i, {"Idempotency-Key": secrets.token_hex(16)})

    def run_detail(conn, i):
        conn.request("GET", f"/api/v1/runs/{run_ids[i % len(run_ids)]}", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    try:
        measure(port, 8, 100, submit)  # Warm up: imports, connections, caches.
        benches = (
            ("submit", submit),
            ("submit_idempotent", submit_idempotent),
            ("run_detail", run_detail),
        )
        for bench, request in benches:
            for clients in (1, 8):
                cpu_before = server_cpu_seconds(server)
                result = measure(port, clients, args.requests, request)
                # Server CPU per request: what the figures would be on an idle machine.
                cpu_ms = (server_cpu_seconds(server) - cpu_before) * 1000 / args.requests
                result["server_cpu_ms"] = round(cpu_ms, 2)
                print(json.dumps({"bench": bench, **result}), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        flush_broker()


if __name__ == "__main__":
    main()
