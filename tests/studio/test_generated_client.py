"""A client generated from the live OpenAPI document works: openapi-python-client builds it,
a throwaway virtualenv (no Django) installs it, and a journey runs through it against the live
server and a real worker: list endpoints, submit, poll, metrics, downloads, typed errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pipelines.sdk import PipelineEndpoint
from studio.models import Role
from tests.fixtures.sdk import echo_pipeline

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GENERATOR = "openapi-python-client==0.29.1"
JOURNEY = Path(__file__).parent / "generated_client" / "journey.py"


def run(*command, cwd=None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def client_venv(tmp_path_factory) -> Path:
    """A virtualenv with the generator (and so httpx, attrs, dateutil), made once a session."""
    folder = tmp_path_factory.mktemp("generated-client")
    run(sys.executable, "-m", "venv", str(folder / "venv"))
    run(str(folder / "venv/bin/python"), "-m", "pip", "install", "--quiet", GENERATOR)
    return folder / "venv"


def test_generated_client_journey(
    client_venv, live_server, celery_worker, sdk_workspace, step_source, team, tmp_path
):
    ws = sdk_workspace(Role.ADMIN)
    published = echo_pipeline(ws, step_source).publish(name="Echo", version="1")
    PipelineEndpoint.publish(
        workspace=ws, name="Generated endpoint", pipeline=published, description="generated"
    )

    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=30)
    (tmp_path / "openapi.json").write_text(document.text)
    run(
        str(client_venv / "bin/openapi-python-client"),
        "generate",
        "--path",
        str(tmp_path / "openapi.json"),
        "--meta",
        "setup",
        "--output-path",
        str(tmp_path / "client"),
        cwd=tmp_path,
    )
    run(
        str(client_venv / "bin/python"), "-m", "pip", "install", "--quiet", str(tmp_path / "client")
    )
    no_django = subprocess.run([str(client_venv / "bin/python"), "-c", "import django"])
    assert no_django.returncode != 0, "the client's virtualenv must not have Django"

    token = team.token(Role.CONTRIBUTOR)
    seen = json.loads(
        run(
            str(client_venv / "bin/python"),
            str(JOURNEY),
            live_server.url,
            token,
            "Generated endpoint",
        )
    )

    assert "Generated endpoint" in seen["endpoints"]
    assert seen["submitted_status"] == "Queued"
    assert seen["run_status"] == "Finished"
    assert seen["parameters"] == {"pipeline_arg": 7}
    assert seen["metrics"] == {"value": 7}
    assert seen["metric_kinds"] == ["scalar"]
    assert seen["zip"] == {"value.txt": "7"}
    assert seen["file"] == "7"
    assert seen["400"] == {
        "status": 400,
        "code": "invalid",
        "fields": ["ParameterAssignments.pipeline_arg"],
    }
    assert seen["404"] == {"status": 404, "code": "not_found"}
