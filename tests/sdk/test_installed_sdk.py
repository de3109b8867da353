"""The SDK as a user gets it: pip-installed from the studio into a fresh virtualenv outside the
repository (no Django there), running the seed journey against a live server and a real worker."""

import io
import json
import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command

from pipelines.models import PublishedPipeline
from pipelines.sdk import __version__
from studio.models import Role
from studio.sdk_dist import WHEEL_NAME
from tests.fixtures.sdk import ECHO

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOURNEY = """
    import json

    import requests

    import pipelines.sdk
    from pipelines.sdk import (Experiment, Pipeline, PipelineData, PipelineEndpoint,
                               PipelineParameter, PipelineRun, PublishedPipeline,
                               PythonScriptStep, Workspace)

    def value(run):
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        (step,) = run.get_steps()
        return step.read_output_file("out1", "value.txt").decode()

    ws = Workspace.from_config()
    param = PipelineParameter(name="pipeline_arg", default_value=10)
    out = PipelineData("out1")
    step = PythonScriptStep(script_name="echo.py", arguments=["--value", param, "--out", out],
                            outputs=[out], compute_target="cpu", source_directory="src",
                            allow_reuse=False)
    run = Experiment(ws, "Venv_Pipeline").submit(Pipeline(ws, steps=[step]))
    seen = {"submit": value(run)}
    published = run.publish_pipeline(name="Venv_Published", description="from a fresh venv",
                                     version="1.0")
    response = requests.post(published.endpoint, headers=ws.get_authentication_header(),
                             json={"ExperimentName": "Venv_Pipeline",
                                   "ParameterAssignments": {"pipeline_arg": 20}}, timeout=30)
    seen["rest"] = value(PipelineRun(ws, response.json()["Id"]))
    PipelineEndpoint.publish(workspace=ws, name="VenvEndpoint", pipeline=published,
                             description="from a fresh venv")
    endpoint = PipelineEndpoint.get(workspace=ws, name="VenvEndpoint")
    seen["endpoint"] = value(endpoint.submit("Venv_Pipeline", {"pipeline_arg": 30},
                                             pipeline_version="0"))
    PublishedPipeline.get(ws, id=published.id).disable()
    seen["disabled"] = PublishedPipeline.get(ws, id=published.id).status
    PublishedPipeline.get(ws, id=published.id).enable()
    seen["enabled"] = PublishedPipeline.get(ws, id=published.id).status
    seen["sdk"] = [pipelines.sdk.__file__, pipelines.sdk.__version__]
    print(json.dumps(seen))
"""


def test_installed_sdk_has_no_django_and_no_server_code(sdk_venv):
    result = sdk_venv.run(
        "-c",
        "import importlib.util as u, pipelines.sdk as s; "
        "print(s.__version__, s.__file__, u.find_spec('django'), u.find_spec('pipelines.models'))",
    )
    assert result.returncode == 0, result.stderr
    installed_version, path, django, server = result.stdout.split()
    assert installed_version == __version__
    assert path.startswith(str(sdk_venv.root / "venv")) and "/site-packages/" in path
    assert (django, server) == ("None", "None")
    assert sdk_venv.run("-c", "import django").returncode == 1


def test_pip_finds_the_sdk_in_the_studio_index(sdk_venv, tmp_path):
    sdk_venv.pip(
        "download",
        "--no-deps",
        "--index-url",
        f"{sdk_venv.studio_url}/sdk/simple/",
        "--dest",
        str(tmp_path),
        "pipeline-studio-sdk",
    )
    assert [p.name for p in tmp_path.iterdir()] == [WHEEL_NAME]


def test_seed_journey_from_the_installed_sdk(celery_worker, sdk_venv, team, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "echo.py").write_text(textwrap.dedent(ECHO).lstrip())
    (tmp_path / "journey.py").write_text(textwrap.dedent(JOURNEY).lstrip())
    env = {"STUDIO_URL": sdk_venv.studio_url, "STUDIO_TOKEN": team.token(Role.ADMIN)}
    result = sdk_venv.run("journey.py", cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert (seen["submit"], seen["rest"], seen["endpoint"]) == ("10", "20", "30")
    assert (seen["disabled"], seen["enabled"]) == ("Disabled", "Active")
    assert seen["sdk"] == [seen["sdk"][0], __version__]
    assert seen["sdk"][0].startswith(str(sdk_venv.root / "venv"))
    published = PublishedPipeline.objects.get(name="Venv_Published")
    assert published.status == PublishedPipeline.Status.ACTIVE
    assert published.endpoint_versions.get().endpoint.name == "VenvEndpoint"


def test_pip_needs_no_index_but_the_studio_when_it_holds_the_dependencies(
    sdk_venv, settings, tmp_path
):
    settings.SDK_WHEEL_DIR = tmp_path / "wheels"
    settings.SDK_UPSTREAM_INDEX = ""  # nothing is sent on: the studio is all pip reaches
    call_command("build_sdk", "--dependencies", stdout=io.StringIO())
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True, timeout=300)
    environment = {**sdk_venv.environment(), "PATH": f"{bare / 'bin'}:/usr/bin:/bin"}
    del environment["PIP_FIND_LINKS"]
    index = f"{sdk_venv.studio_url}/sdk/simple/"
    for command in (
        ["-m", "pip", "install", "--index-url", index, "pipeline-studio-sdk"],
        ["-c", "import pipelines.sdk, requests, pathspec; print(pipelines.sdk.__version__)"],
    ):
        result = subprocess.run(
            [str(bare / "bin" / "python"), *command],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == __version__
