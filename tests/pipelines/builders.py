"""Building snapshots, graphs and runs for the engine tests (real rows, real files)."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from pipelines.engine import submit_run
from pipelines.graph import resolve_parameters, validate_graph
from pipelines.snapshots import snapshot_from_folder


def make_snapshot(workspace, tmp_path, files: dict[str, str]):
    """A stored snapshot holding ``files`` ({relative path: source text})."""
    folder = tmp_path / "src"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    snapshot, _ = snapshot_from_folder(workspace, folder)
    return snapshot


def step(name, snapshot, script, arguments=(), inputs=(), outputs=(), **extra) -> dict:
    """One step of a graph document."""
    return {
        "name": name,
        "script_name": script,
        "snapshot": snapshot.sha256,
        "arguments": list(arguments),
        "inputs": list(inputs),
        "outputs": list(outputs),
        **extra,
    }


def submit(crew, steps, parameters=(), assignments=None, **options):
    """Validate the graph, resolve ``assignments`` and submit a run as the contributor."""
    graph = validate_graph({"parameters": list(parameters), "steps": list(steps)}, crew.workspace)
    return submit_run(
        workspace=crew.workspace,
        graph=graph,
        experiment_name=options.pop("experiment", "Tests"),
        parameters=resolve_parameters(graph, assignments or {}),
        by=crew.contributor,
        run_source="SDK",
        **options,
    )


def process_gone(pid: int, timeout: float = 5) -> bool:
    """True once process ``pid`` has exited (gone or a zombie), within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False
