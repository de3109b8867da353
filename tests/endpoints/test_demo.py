"""The demo data: the iris pipeline behind an endpoint, with one real finished run."""

import json
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from endpoints.demo import DEMO_NAME, seed_demo_pipeline
from endpoints.models import PipelineEndpoint
from pipelines.models import PipelineRun, PublishedPipeline, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_publishes_the_iris_pipeline_with_a_finished_run_once(crew):
    endpoint = seed_demo_pipeline(crew.workspace)
    seed_demo_pipeline(crew.workspace)  # a second call changes nothing
    assert PipelineEndpoint.objects.filter(workspace=crew.workspace).count() == 1
    assert PublishedPipeline.objects.filter(workspace=crew.workspace).count() == 1
    assert endpoint.name == DEMO_NAME
    run = PipelineRun.objects.get(workspace=crew.workspace)
    assert run.status == RunStatus.FINISHED, run.error
    assert run.pipeline_endpoint == endpoint and run.experiment.name == "Iris_demo"
    assert run.parameters == {"test_size": 0.25, "n_estimators": 50}
    steps = {s.name: s for s in run.steps.all()}
    assert list(steps) == ["prepare", "train", "evaluate"]
    accuracy = run.metrics.get(name="accuracy")
    assert accuracy.step_run == steps["evaluate"] and accuracy.value > 0.8
    report = steps["evaluate"].outputs["report"]
    assert report["files"] == ["report.json", "report.txt"]
    with default_storage.open(f"{report['path']}/report.json") as handle:
        assert json.loads(handle.read())["accuracy"] == accuracy.value
    assert "--n_estimators" in steps["train"].argv and "50" in steps["train"].argv


def test_seed_demo_prints_the_address_make_run_serves(monkeypatch):
    """`STUDIO_BIND=127.0.0.1:8999 make run` prints that address, not the default one;
    STUDIO_ADDRESS (a proxy's public address) wins over both."""
    monkeypatch.setenv("STUDIO_BIND", "127.0.0.1:8999")
    monkeypatch.delenv("STUDIO_ADDRESS", raising=False)
    shown = StringIO()
    call_command("seed_demo", stdout=shown)
    assert "Pipeline Studio: http://127.0.0.1:8999\n" in shown.getvalue()
    assert "8000" not in shown.getvalue()

    monkeypatch.setenv("STUDIO_BIND", "0.0.0.0:8001")  # all interfaces: this machine's
    call_command("seed_demo", stdout=(shown := StringIO()))
    assert "Pipeline Studio: http://127.0.0.1:8001\n" in shown.getvalue()

    monkeypatch.setenv("STUDIO_ADDRESS", "https://studio.example.com")
    call_command("seed_demo", stdout=(shown := StringIO()))
    assert "Pipeline Studio: https://studio.example.com\n" in shown.getvalue()
