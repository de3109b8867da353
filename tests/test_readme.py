"""README.md runs as written: every shell and Python block a user is meant to run is run here.

Each fenced ``bash``/``sh``/``python`` block of the README is preceded by a marker line:
``<!-- readme-test: run -->``, or ``<!-- readme-test: skip (why) -->`` for the few that cannot
run here. A ``json`` block marked ``<!-- readme-test: output (Key, Key vary) -->`` is what the run
block before it prints: equal, except that the keys named before "vary" only need to be there
with a value of the same type.

The run blocks go in order, as a user would type them into a second terminal in the repository
folder while ``make run`` runs: against a live server with the demo data (``seed_demo``) and a
real worker, with the SDK pip-installed into a fresh virtualenv first on PATH. Shell blocks run
with bash (``set -euo pipefail``; a variable a block exports must not be left empty) and keep
their exported variables for the blocks after them;
Python blocks run with that virtualenv's ``python``. The README's ``http://127.0.0.1:8000``
becomes the live server's address, and the demo endpoint's id 1 its id in the test database.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from endpoints.demo import DEMO_NAME
from endpoints.models import PipelineEndpoint
from pipelines.models import PipelineRun
from studio.models import Workspace
from tests.fixtures.worker import wait_for_run, worker_environment

README = Path(settings.BASE_DIR) / "README.md"
RUNNABLE = {"bash", "sh", "shell", "console", "python", "py"}
STUDIO_ENVIRONMENT = {"STUDIO_VAR_DIR", "STUDIO_DATABASE_NAME", "DATABASE_URL", "CELERY_BROKER_URL"}
MARKER = re.compile(r"<!-- readme-test: (run|skip|output)(?: \((.+)\))? -->")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    marker: str | None  # run, skip or output
    note: str  # the marker's parenthesis

    def __str__(self) -> str:
        return f"README.md line {self.line} ({self.lang})"


def readme_blocks(text: str) -> list[Block]:
    """The README's fenced blocks with the marker on the line just before each."""
    lines, blocks, index = text.splitlines(), [], 0
    while index < len(lines):
        # Fences indented under a list item count too (their code loses the indent).
        if lines[index].lstrip().startswith("```"):
            indent = len(lines[index]) - len(lines[index].lstrip())
            end = next(at for at in range(index + 1, len(lines)) if lines[at].strip() == "```")
            found = MARKER.fullmatch(lines[index - 1].strip()) if index else None
            body = lines[index + 1 : end]
            assert all(not line[:indent].strip() for line in body), f"line {index + 1}: indent"
            code = "\n".join(line[indent:] for line in body)
            blocks.append(
                Block(
                    line=index + 1,
                    lang=lines[index].strip()[3:].strip(),
                    code=code + "\n",
                    marker=found.group(1) if found else None,
                    note=(found.group(2) or "") if found else "",
                )
            )
            index = end
        index += 1
    return blocks


def test_every_runnable_block_says_whether_it_runs():
    blocks = readme_blocks(README.read_text())
    for block in blocks:
        if block.lang in RUNNABLE:
            assert block.marker in ("run", "skip"), f"{block}: add a readme-test marker"
            assert block.marker == "run" or block.note, f"{block}: say why it is skipped"
        else:
            assert block.marker in (None, "output"), f"{block}: only output markers on {block.lang}"
    for before, block in zip(blocks, blocks[1:], strict=False):
        if block.marker == "output":
            assert before.marker == "run", f"{block}: an output follows a run block"
    assert sum(block.marker == "run" for block in blocks) >= 5


def substitute(code: str, substitutions: dict[str, str]) -> str:
    for written, here in substitutions.items():
        code = code.replace(written, here)
    return code


def varying_keys(note: str) -> set[str]:
    return set(re.findall(r"[A-Z]\w+", note.rsplit("vary", 1)[0])) if "vary" in note else set()


def assert_same_output(shown: dict, got: dict, varying: set[str], where: Block) -> None:
    assert set(got) == set(shown), f"{where}: the server answered {got}"
    for key, value in shown.items():
        if key in varying:
            assert isinstance(got[key], type(value)), f"{where}: {key} is {got[key]!r}"
        else:
            assert got[key] == value, f"{where}: {key} is {got[key]!r}, the README shows {value!r}"


class Terminal:
    """A user's second terminal: bash keeping its exports from block to block."""

    def __init__(self, state: Path, env: dict[str, str]):
        self.state = state
        names = [name for name in env if re.fullmatch(r"[A-Za-z_]\w*", name)]
        state.write_text("".join(f"export {n}={shlex.quote(env[n])}\n" for n in names))

    def run(self, block: Block, code: str) -> subprocess.CompletedProcess:
        if block.lang.startswith("py"):
            script = f"source {shlex.quote(str(self.state))}\nexec python -\n"
        else:
            # `export X=$(command)` succeeds whatever the command did: a variable the block
            # exports must not be left empty, or a mistyped command there would pass unseen.
            exported = re.findall(r"^\s*export ([A-Za-z_]\w*)=", code, re.MULTILINE)
            checks = "".join(f': "${{{name}:?the block left {name} empty}}"\n' for name in exported)
            script = (
                f"set -euo pipefail\nsource {shlex.quote(str(self.state))}\n{code}\n{checks}"
                f"export -p > {shlex.quote(str(self.state))}\n"
            )
        return subprocess.run(
            ["bash", "-c", script],
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin"},
            input=code if block.lang.startswith("py") else None,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("command", "typo"),
    [
        ("manage.py create_token", "manage.py create_tokn"),
        (".venv/bin/python manage.py create_token", ".venv/bin/pyhton manage.py create_token"),
        ("manage.py check --deploy", "manage.py chek --deploy"),
    ],
)
def test_a_typo_in_a_readme_command_fails_its_block(tmp_path, command, typo):
    """The README's own blocks pass as written and fail with a typo, even one inside the
    ``$(...)`` of an ``export``, which bash's ``set -e`` alone lets through."""
    Workspace.objects.create(name="Demo", slug="demo")
    (block,) = [b for b in readme_blocks(README.read_text()) if command in b.code]
    assert block.marker == "run"
    studio = {k: v for k, v in worker_environment().items() if k in STUDIO_ENVIRONMENT}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **studio}
    as_written = Terminal(tmp_path / "as-written.sh", env).run(block, block.code)
    assert as_written.returncode == 0, as_written.stderr
    typoed = block.code.replace(command, typo, 1)
    assert typoed != block.code
    mistyped = Terminal(tmp_path / "typo.sh", env).run(block, typoed)
    assert mistyped.returncode != 0, f"{block} passed with {typo!r}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_readme_runs_as_written(celery_worker, sdk_venv, live_server, tmp_path):
    call_command("seed_demo", stdout=io.StringIO())
    demo = PipelineEndpoint.objects.get(name=DEMO_NAME)
    substitutions = {
        "http://127.0.0.1:8000": live_server.url,
        "/pipeline-endpoints/1/": f"/pipeline-endpoints/{demo.pk}/",
    }
    # The user's shell, plus where this session's studio keeps its database and broker.
    studio = {k: v for k, v in worker_environment().items() if k in STUDIO_ENVIRONMENT}
    terminal = Terminal(tmp_path / "terminal-state.sh", {**sdk_venv.environment(), **studio})
    last = None
    blocks = readme_blocks(README.read_text())
    for block in blocks:
        code = substitute(block.code, substitutions)
        if block.marker == "run":
            last = terminal.run(block, code)
            assert last.returncode == 0, f"{block} failed:\n{last.stdout}\n{last.stderr}"
        elif block.marker == "output":
            shown, got = json.loads(code), json.loads(last.stdout)
            assert_same_output(shown, got, varying_keys(block.note), block)
    # Run twice, the Python examples find what their first run made instead of failing on it.
    endpoints = PipelineEndpoint.objects.count()
    for block in blocks:
        if block.marker == "run" and block.lang.startswith("py"):
            again = terminal.run(block, substitute(block.code, substitutions))
            assert again.returncode == 0, f"{block} failed the second time:\n{again.stderr}"
    assert PipelineEndpoint.objects.count() == endpoints
    for run in PipelineRun.objects.all():  # leave the worker idle for the tests after this one
        wait_for_run(run, timeout=300)
