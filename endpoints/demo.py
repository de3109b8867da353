"""The demo data of ``manage.py seed_demo``: the examples/iris pipeline, published behind
the "Iris classifier" endpoint with one finished run, so a newcomer sees real history."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import transaction

from pipelines.broker import inline_execution
from pipelines.graph import validate_graph
from pipelines.models import Pipeline, PublishedPipeline
from pipelines.snapshots import snapshot_from_folder
from studio.models import Role

from .models import PipelineEndpoint

DEMO_NAME = "Iris classifier"
DEMO_SOURCE = settings.BASE_DIR / "examples" / "iris"


def iris_graph(snapshot_sha256: str) -> dict:
    """prepare (test_size) → train (n_estimators) → evaluate (accuracy and a report)."""

    def step(name, script, arguments, inputs=(), outputs=()):
        return {
            "name": name,
            "script_name": script,
            "snapshot": snapshot_sha256,
            "arguments": arguments,
            "inputs": list(inputs),
            "outputs": list(outputs),
            "compute_target": "cpu",
        }

    return {
        "parameters": [
            {"name": "test_size", "type": "float", "default_value": 0.25},
            {"name": "n_estimators", "type": "int", "default_value": 50},
        ],
        "steps": [
            step(
                "prepare",
                "prepare.py",
                ["--test_size", {"parameter": "test_size"}, "--out", {"data": "split"}],
                outputs=["split"],
            ),
            step(
                "train",
                "train.py",
                [
                    "--data",
                    {"data": "split"},
                    "--n_estimators",
                    {"parameter": "n_estimators"},
                    "--model",
                    {"data": "model"},
                ],
                inputs=["split"],
                outputs=["model"],
            ),
            step(
                "evaluate",
                "evaluate.py",
                [
                    "--data",
                    {"data": "split"},
                    "--model",
                    {"data": "model"},
                    "--report",
                    {"data": "report"},
                ],
                inputs=["split", "model"],
                outputs=["report"],
            ),
        ],
    }


def seed_demo_pipeline(workspace, stdout=None):
    """Publish the iris pipeline behind the "Iris classifier" endpoint and run it once,
    in this process, so it is Finished at once. Does nothing when the endpoint exists."""
    endpoint = PipelineEndpoint.objects.filter(workspace=workspace, name=DEMO_NAME).first()
    admin = workspace.memberships.filter(role=Role.ADMIN).select_related("user").first()
    by = admin.user if admin else None
    if endpoint is None:
        with transaction.atomic():
            endpoint = _publish(workspace, by)
    elif endpoint.runs.exists():
        _say(stdout, f"Demo endpoint {DEMO_NAME!r} already exists.")
        return endpoint
    with inline_execution(), _execution_api_in_this_process():
        run = endpoint.submit(
            experiment_name="Iris_demo",
            parameter_assignments={},
            by=by,
            run_source="Studio",
            description="Demo run",
        )
    run.refresh_from_db()
    _say(stdout, f"Demo endpoint {DEMO_NAME!r} published; its first run is {run.status}.")
    return endpoint


def _publish(workspace, by):

    snapshot, _ = snapshot_from_folder(workspace, DEMO_SOURCE, by=by)
    graph = validate_graph(iris_graph(snapshot.sha256), workspace)
    pipeline = Pipeline.objects.create(
        workspace=workspace,
        name=DEMO_NAME,
        graph=graph,
        created_by=by,
        description="Splits scikit-learn's iris data, trains a random forest, scores it.",
    )
    published = PublishedPipeline.publish_from(
        pipeline, name=DEMO_NAME, description=pipeline.description, version="1.0", by=by
    )
    return PipelineEndpoint.publish(
        workspace,
        name=DEMO_NAME,
        description="The iris demo pipeline.",
        published=published,
        by=by,
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def _execution_api_in_this_process():
    """The demo run executes here, with no web server beside it: serve the studio from a
    thread of this process on loopback, so that its steps log metrics with their run token."""
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configured = settings.STUDIO_STEP_API_URL
    settings.STUDIO_STEP_API_URL = f"http://127.0.0.1:{server.server_port}"
    try:
        yield
    finally:
        settings.STUDIO_STEP_API_URL = configured
        server.shutdown()
        server.server_close()


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)
