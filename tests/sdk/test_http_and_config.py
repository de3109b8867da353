"""The HTTP client (retries, backoff, error mapping) and the workspace config, without a studio.

A small real HTTP server in a thread plays a flaky gateway; a closed port plays a server
that is down.
"""

import json
import socket
from types import SimpleNamespace

import pytest

from pipelines.sdk import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServerError,
    StudioConnectionError,
    StudioError,
    Workspace,
)
from pipelines.sdk import _http as sdk_http
from pipelines.sdk.errors import error_from_response
from tests.fixtures.sdk import read_body, reply


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gateway(local_server):
    """``gateway((status, body), ...)``: answers from that script (then 200 {}) and records
    ``(method, path, headers, body)`` of each request in ``.requests``."""

    def make(*script):
        script, received = list(script), []

        def answer(handler):
            received.append(
                (handler.command, handler.path, dict(handler.headers), read_body(handler))
            )
            status, body = script.pop(0) if script else (200, {})
            reply(handler, status, json.dumps(body).encode(), "application/json")

        server = local_server(answer)
        server.requests = received
        return server

    return make


def workspace(url, **options):
    return Workspace(url, "secret-token", retries=2, backoff_seconds=0.05, **options)


def test_unreachable_server_is_retried_with_backoff_then_a_clear_error(monkeypatch):
    # The SDK's own clock only: other threads keep the real time.sleep.
    waits = []
    monkeypatch.setattr(sdk_http, "time", SimpleNamespace(sleep=waits.append))
    ws = workspace(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(StudioConnectionError) as caught:
        ws.get_details()
    assert waits == [0.05, 0.1]  # exponential backoff between the three attempts
    assert "Could not reach the studio at http://127.0.0.1:" in str(caught.value)
    assert "(GET /workspace) after 3 attempt(s)" in str(caught.value)
    assert caught.value.status is None


def test_gateway_errors_are_retried_on_reads_and_submits_but_not_on_other_posts(gateway):
    flaky = gateway((503, {}), (502, {}), (200, {"Id": "1", "Name": "Team", "Role": "reader"}))
    ws = workspace(flaky.url)
    assert ws.name == "Team"
    assert [r[1] for r in flaky.requests] == ["/api/v1/workspace"] * 3
    assert flaky.requests[0][2]["Authorization"] == "Bearer secret-token"

    submits = gateway((504, {}), (201, {"Id": "7"}))
    answer = workspace(submits.url)._http.submit("/published-pipelines/1/runs", {"A": 1})
    assert answer == {"Id": "7"}
    keys = [r[2]["Idempotency-Key"] for r in submits.requests]
    assert len(keys) == 2 and keys[0] == keys[1]  # one key per submit call, kept on retry

    publish = gateway((503, {"error": {"code": "busy", "message": "Try later"}}))
    with pytest.raises(ServerError, match="Try later"):
        workspace(publish.url)._http.post("/pipelines/1/publish", json={})
    assert len(publish.requests) == 1


def test_two_submits_send_two_different_keys(gateway):
    server = gateway((201, {"Id": "1"}), (201, {"Id": "2"}))
    http = workspace(server.url)._http
    http.submit("/pipeline-endpoints/1/runs", {})
    http.submit("/pipeline-endpoints/1/runs", {})
    first, second = (r[2]["Idempotency-Key"] for r in server.requests)
    assert first != second


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (500, ServerError),
        (418, StudioError),
    ],
)
def test_error_answers_become_exceptions_with_the_servers_words(status, cls):
    body = {
        "error": {
            "code": "c",
            "message": "It is disabled.",
            "details": [{"field": "ParameterAssignments.x", "message": "not an int"}],
        }
    }
    error = error_from_response(status, body)
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, "c", "It is disabled.")
    assert str(error) == (
        f"It is disabled. (HTTP {status})\n  - ParameterAssignments.x: not an int"
    )


def test_answers_not_in_the_studio_shape_still_read_well():
    assert error_from_response(422, {"detail": "Unprocessable"}).message == "Unprocessable"
    assert error_from_response(502, None, "<html>Bad gateway</html>").message == (
        "<html>Bad gateway</html>"
    )
    assert error_from_response(404, None, "").message == "The server answered HTTP 404"


def test_from_config_reads_environment_then_files(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_URL", "http://studio.example:8000/")
    monkeypatch.setenv("STUDIO_TOKEN", "tok")
    assert Workspace.from_config().url == "http://studio.example:8000"

    monkeypatch.delenv("STUDIO_URL")
    config = tmp_path / ".studio" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"url": "http://a:1", "token": "t", "workspace": "team"}))
    nested = tmp_path / "project" / "src"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert Workspace.from_config().url == "http://a:1"  # found in a parent folder
    assert Workspace.from_config(tmp_path).url == "http://a:1"
    assert Workspace.from_config(config).url == "http://a:1"

    config.write_text(json.dumps({"url": "http://a:1"}))
    with pytest.raises(StudioError, match="config.json lacks token"):
        Workspace.from_config(config)
    with pytest.raises(StudioError, match="No workspace config at"):
        Workspace.from_config(tmp_path / "project")
    config.unlink()
    with pytest.raises(StudioError, match="set STUDIO_URL and STUDIO_TOKEN"):
        Workspace.from_config()


def test_workspace_refuses_a_bad_url_or_an_empty_token():
    with pytest.raises(StudioError, match="must start with http"):
        Workspace("studio:8000", "t")
    with pytest.raises(StudioError, match="token is empty"):
        Workspace("http://studio:8000", "")
