"""The studio serves its own SDK at /sdk/ (no sign-in), shows the install line where a user
needs it, and refuses an SDK too old for it with a 400 naming the version to install."""

import hashlib
import io
import re
import tomllib
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from pipelines.models import PipelineRun
from pipelines.sdk import BadRequestError, Workspace, __version__
from studio.models import Role
from studio.sdk_dist import SDK_REQUIRES, WHEEL_NAME, parse_version

pytestmark = pytest.mark.usefixtures("fast_passwords")

PIP_LINE = f"pip install http://testserver/sdk/{WHEEL_NAME}"


def test_wheel_name_carries_the_sdk_version():
    assert WHEEL_NAME == f"pipeline_studio_sdk-{__version__}-py3-none-any.whl"
    assert parse_version(__version__) is not None


def test_sdk_page_shows_the_install_lines_to_anyone(client):
    response = client.get("/sdk/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>Python SDK {__version__}</h1>" in html
    assert PIP_LINE in html
    assert "pip install --index-url http://testserver/sdk/simple/ pipeline-studio-sdk" in html
    assert "export STUDIO_URL=http://testserver STUDIO_TOKEN=&lt;your token&gt;" in html
    assert f'href="/sdk/{WHEEL_NAME}"' in html


def test_simple_index_links_the_wheel_with_its_sha256(client):
    root = client.get("/sdk/simple/").content.decode()
    assert '<a href="pipeline-studio-sdk/">pipeline-studio-sdk</a>' in root
    project = client.get("/sdk/simple/pipeline-studio-sdk/")
    assert project.status_code == 200
    (href, sha256) = re.search(
        r'href="\.\./\.\./([^"#]+)#sha256=([0-9a-f]{64})"', project.text
    ).groups()
    assert href == WHEEL_NAME
    assert 'data-requires-python="&gt;=3.11"' in project.text

    wheel = client.get(f"/sdk/{href}")
    assert wheel.status_code == 200
    assert wheel["Content-Disposition"] == f'attachment; filename="{WHEEL_NAME}"'
    content = b"".join(wheel.streaming_content)
    assert hashlib.sha256(content).hexdigest() == sha256
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    # A namespace portion: pipelines/sdk/ only, never the server's pipelines/__init__.py.
    assert "pipelines/sdk/__init__.py" in names and "pipelines/sdk/_version.py" in names
    assert not [n for n in names if n.startswith("pipelines/") and "/sdk/" not in n]
    metadata = zipfile.ZipFile(io.BytesIO(content)).read(
        f"pipeline_studio_sdk-{__version__}.dist-info/METADATA"
    )
    assert b"Requires-Dist: requests" in metadata and b"Requires-Dist: pathspec" in metadata
    assert b"Django" not in metadata


@pytest.mark.parametrize(
    "url",
    [
        "/sdk/pipeline_studio_sdk-0.0.1-py3-none-any.whl",
        "/sdk/requests-2.32.0-py3-none-any.whl",
        "/sdk/..%2Fsettings.py",
        "/sdk/simple/%3Cscript%3E/",
    ],
)
def test_anything_else_under_sdk_is_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"<script>" not in response.content


def test_other_projects_are_sent_upstream_but_never_the_sdk(client, settings):
    settings.SDK_UPSTREAM_INDEX = "https://index.example/simple"
    response = client.get("/sdk/simple/Charset_Normalizer/")
    assert response.status_code == 302
    assert response["Location"] == "https://index.example/simple/charset-normalizer/"
    # The SDK's name, however it is spelled, is answered here: no other index may answer it.
    sdk = client.get("/sdk/simple/Pipeline_Studio.SDK/")
    assert sdk.status_code == 200 and f"{WHEEL_NAME}#sha256=" in sdk.text
    settings.SDK_UPSTREAM_INDEX = ""
    assert client.get("/sdk/simple/charset-normalizer/").status_code == 404


def test_held_dependency_wheels_are_listed_and_served(client, settings, tmp_path):
    settings.SDK_WHEEL_DIR = tmp_path
    (tmp_path / "dependencies").mkdir()
    held = tmp_path / "dependencies" / "Requests-2.32.0-py3-none-any.whl"
    held.write_bytes(b"a wheel's bytes")
    (tmp_path / "dependencies" / "notes.txt").write_text("not a wheel")
    settings.SDK_UPSTREAM_INDEX = ""

    root = client.get("/sdk/simple/").text
    assert '<a href="requests/">requests</a>' in root and "notes" not in root
    project = client.get("/sdk/simple/requests/").text
    sha256 = hashlib.sha256(b"a wheel's bytes").hexdigest()
    assert f'href="../../{held.name}#sha256={sha256}"' in project
    served = client.get(f"/sdk/{held.name}")
    assert b"".join(served.streaming_content) == b"a wheel's bytes"
    assert client.get("/sdk/notes.txt").status_code == 404
    assert "it holds the SDK's dependencies too: requests" in client.get("/sdk/").text


def test_the_held_dependencies_are_the_ones_the_sdk_declares():
    pyproject = tomllib.loads((Path(settings.SDK_SRC).parent / "pyproject.toml").read_text())
    declared = [re.match(r"[\w.-]+", r).group() for r in pyproject["project"]["dependencies"]]
    assert tuple(declared) == SDK_REQUIRES


def test_sdk_urls_refuse_writes(client):
    assert client.post("/sdk/").status_code == 405
    assert client.post(f"/sdk/{WHEEL_NAME}").status_code == 405


def test_consume_tab_shows_the_install_and_export_lines(client, team, studio_data):
    endpoint = studio_data.endpoint("Scoring", [studio_data.published()])
    client.force_login(team.reader)
    html = client.get(reverse("endpoints:endpoint_consume", args=[endpoint.pk])).content.decode()
    assert PIP_LINE in html
    assert "export STUDIO_URL=http://testserver STUDIO_TOKEN=&lt;your token&gt;" in html


def test_tokens_page_shows_the_install_line_with_the_new_secret(client, team):
    client.force_login(team.admin)
    page = client.get("/workspaces/tokens/").content.decode()
    assert PIP_LINE in page and "STUDIO_TOKEN=&lt;your token&gt;" in page
    client.post("/workspaces/tokens/", {"name": "nb", "role": "reader", "expires_in_days": "7"})
    shown = client.get("/workspaces/tokens/")
    secret = shown.context["secret"]
    assert f"export STUDIO_URL=http://testserver STUDIO_TOKEN={secret}" in shown.content.decode()
    assert secret not in client.get("/workspaces/tokens/").content.decode()


def _submit(api, studio, headers):
    return api.post(
        f"/pipeline-endpoints/{studio.endpoint.pk}/runs",
        studio.team.token(Role.CONTRIBUTOR),
        headers=headers,
        json={"ExperimentName": "Nightly", "ParameterAssignments": {}},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "field", "says"),
    [
        ({"X-Studio-SDK-Version": "0.0.9"}, "X-Studio-SDK-Version", "you have version 0.0.9"),
        ({"User-Agent": "pipeline-studio-sdk"}, "User-Agent", "a version from before 0.1.0"),
        ({"User-Agent": "pipeline-studio-sdk/0.0.3 x"}, "User-Agent", "you have version 0.0.3"),
        (
            {"X-Studio-SDK-Version": "1.0; drop table"},
            "X-Studio-SDK-Version",
            "must be a version such as",
        ),
    ],
)
def test_too_old_or_garbled_sdk_is_refused_before_anything_is_written(
    api, studio, headers, field, says
):
    runs = PipelineRun.objects.count()
    response = _submit(api, studio, headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "sdk_too_old"
    assert says in error["message"]
    assert error["details"][0]["field"] == field
    if "such as" not in says:
        assert f"pip install {api.base_url}/sdk/{WHEEL_NAME}" in error["message"]
    assert PipelineRun.objects.count() == runs


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Studio-SDK-Version": __version__, "User-Agent": f"pipeline-studio-sdk/{__version__}"},
        {"X-Studio-SDK-Version": "7.2"},
        {"User-Agent": "curl/8.5.0"},
        {},
    ],
)
def test_current_sdk_and_other_callers_pass(api, studio, headers):
    response = _submit(api, studio, headers)
    assert response.status_code == 201, response.text


@pytest.mark.django_db(transaction=True)
def test_the_sdk_tells_its_user_which_version_to_install(live_server, team, settings):
    settings.SDK_MIN_VERSION = "99.0"
    ws = Workspace(live_server.url, team.token(Role.READER), retries=0)
    with pytest.raises(BadRequestError) as raised:
        ws.get_details()
    message = str(raised.value)
    assert f"needs pipeline-studio-sdk 99.0 or newer and you have version {__version__}" in message
    assert f"pip install {live_server.url}/sdk/{WHEEL_NAME}" in message
    settings.SDK_MIN_VERSION = __version__
    assert ws.get_details()["Name"] == "Team"
