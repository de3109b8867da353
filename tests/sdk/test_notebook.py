"""Jupyter: step logs stream into a cell as they come, and SDK objects show as a small table
with a link to their studio page."""

import io
import textwrap

import pytest

from pipelines.sdk import (
    Experiment,
    Pipeline,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
    PythonScriptStep,
    Workspace,
)
from studio.models import Role

HOSTILE = '<script>alert("x")</script>'

WAIT_FOR_RELEASE = """
    import argparse
    import pathlib
    import sys
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--release", required=True)
    args = parser.parse_args()
    print("halfway", flush=True)
    sys.stdout.write("no newline yet")
    sys.stdout.flush()
    deadline = time.monotonic() + 120
    while not pathlib.Path(args.release).exists():
        if time.monotonic() > deadline:
            sys.exit("nobody saw 'halfway' while the step ran")
        time.sleep(0.2)
    print(" and done")
"""


class NotebookStream(io.TextIOBase):
    """Like a Jupyter cell's stdout: shows only what was flushed. Once ``halfway`` is shown it
    creates ``release``, the file the step waits for before it ends."""

    def __init__(self, release):
        self.pending, self.shown, self.release = "", "", release

    def write(self, text):
        self.pending += text
        return len(text)

    def flush(self):
        self.shown, self.pending = self.shown + self.pending, ""
        if "halfway" in self.shown:
            self.release.touch()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_step_log_shows_in_a_notebook_cell_while_the_step_runs(
    celery_worker, sdk_workspace, tmp_path, step_shared_folder
):
    source = tmp_path / "src"
    source.mkdir()
    (source / "wait.py").write_text(textwrap.dedent(WAIT_FOR_RELEASE).lstrip())
    release = step_shared_folder / "released"  # the step account must see it appear
    step = PythonScriptStep(
        script_name="wait.py",
        arguments=["--release", PipelineParameter(name="release", default_value=str(release))],
        compute_target="cpu",
        source_directory=source,
        allow_reuse=False,
    )
    ws = sdk_workspace(Role.CONTRIBUTOR)
    run = Experiment(ws, "Notebook").submit(Pipeline(ws, steps=[step]))
    cell = NotebookStream(release)
    status = run.wait_for_completion(show_output=True, timeout_seconds=180, stream=cell)
    assert status == "Finished", cell.shown
    assert cell.pending == ""
    assert "\r" not in cell.shown
    assert "--- StepRun(wait) log ---\nhalfway\nno newline yet" in cell.shown
    # The studio's own lines start on a line of their own after a chunk that ended mid-line.
    lines = cell.shown.splitlines()
    assert lines[-1] == f"PipelineRun {run.id} ended Finished"
    assert all(line.startswith(("PipelineRun", "StepRun", "---", "Link")) for line in lines[:3])


def test_html_reprs_escape_what_the_server_sent():
    ws = Workspace("http://studio.invalid", "unused")
    link = 'http://studio.invalid/published/1/"onmouseover="alert(1)'
    published = PublishedPipeline(
        ws, {"Id": "1", "Name": HOSTILE, "Status": "Active", "Version": "1.0", "PageUrl": link}
    )
    endpoint = PipelineEndpoint(ws, {"Id": "2", "Name": HOSTILE, "DefaultVersion": "0"})
    run = PipelineRun(ws, "3", {"Status": "Queued", "ExperimentName": HOSTILE, "RunUrl": link})
    for html in (published._repr_html_(), endpoint._repr_html_(), run._repr_html_()):
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert '"onmouseover' not in html
    assert 'href="http://studio.invalid/published/1/&quot;onmouseover=&quot;alert(1)"' in (
        published._repr_html_()
    )
    assert "<th>Version</th>" in published._repr_html_()
    assert "<th>Default version</th>" in endpoint._repr_html_()
    assert "href" not in endpoint._repr_html_()  # no page URL known: no link


@pytest.mark.django_db(transaction=True)
def test_html_reprs_link_to_the_studio_pages(api, studio, live_server, client):
    ws = Workspace(live_server.url, studio.team.token(Role.READER), retries=0)
    shown = {
        f"/published/{studio.published.pk}/": PublishedPipeline.get(ws, str(studio.published.pk)),
        f"/endpoints/{studio.endpoint.pk}/": PipelineEndpoint.get(ws, id=str(studio.endpoint.pk)),
        f"/runs/{studio.run.pk}/": PipelineRun(ws, str(studio.run.pk)),
    }
    client.force_login(studio.team.reader)
    for path, obj in shown.items():
        html = obj._repr_html_()
        assert f'<a href="{live_server.url}{path}" target="_blank"' in html
        assert client.get(path).status_code == 200
    ws._http.session.close()
