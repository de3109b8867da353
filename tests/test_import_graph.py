"""The import rules of docs/ARCHITECTURE.md, checked on the source with ``ast``.

Every module of the server (core, studio, pipelines, endpoints) is parsed; each import, at
module level or inside a function, is an edge to the module it names. The tests fail on an
import against the direction endpoints -> pipelines -> studio -> core (the wiring modules
listed in ``WIRING`` may import every app), and on any cycle between modules: an import
written inside a function still closes a loop here, so it cannot hold one open. The SDK is
a separate client: it imports neither Django nor the server.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lower layers first: a module may import its own app and the apps before it.
LAYERS = ["core", "studio", "pipelines", "endpoints"]
# The project's URL and API wiring and its settings join the apps together.
WIRING = {"studio.urls", "studio.api", "studio.api_urls", "studio.settings"}
SDK_PACKAGES = [ROOT / "sdk"]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # path:line
    in_function: bool

    def __str__(self) -> str:
        kind = " (inside a function)" if self.in_function else ""
        return f"{self.source} -> {self.target} at {self.where}{kind}"


def _is_sdk(path: Path) -> bool:
    return any(path.is_relative_to(package) for package in SDK_PACKAGES)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def server_modules() -> dict[str, Path]:
    modules = {}
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if not _is_sdk(path):
                modules[_module_name(path)] = path
    return modules


def imported_names(path: Path, module: str):
    """``(name, line, in_function)`` for every import in ``path``, relative ones resolved;
    ``from a import b`` gives ``a.b`` (which may be a module) and ``a``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_function.update(
                id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Import | ast.ImportFrom)
            )
    for node in ast.walk(tree):
        nested = id(node) in in_function
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield [alias.name], node.lineno, nested
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield [f"{base}.{alias.name}" for alias in node.names] + [base], node.lineno, nested


def import_edges() -> list[Edge]:
    modules = server_modules()
    edges = set()
    for module, path in modules.items():
        where = path.relative_to(ROOT).as_posix()
        for names, line, nested in imported_names(path, module):
            # pipelines.sdk is the SDK's own distribution (sdk/), not the pipelines app: a
            # server module may use it like any library (the studio serves its version).
            names = [name for name in names if not name.startswith("pipelines.sdk")]
            # The most precise module named: ``from pipelines import tasks`` is pipelines.tasks.
            target = next((name for name in names if name in modules), None)
            if target is None:
                for name in names:
                    while name and name not in modules:
                        name = name.rpartition(".")[0]
                    if name:
                        target = name
                        break
            if target and target != module:
                edges.add(Edge(module, target, f"{where}:{line}", nested))
    return sorted(edges, key=lambda e: (e.source, e.target, e.where))


def layer_of(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_imports_run_one_way_between_the_apps():
    wrong = [
        edge
        for edge in import_edges()
        if edge.source not in WIRING and layer_of(edge.target) > layer_of(edge.source)
    ]
    assert not wrong, (
        "Imports must run endpoints -> pipelines -> studio -> core (docs/ARCHITECTURE.md); "
        "move the code to the lower app or turn the dependency around:\n  "
        + "\n  ".join(map(str, wrong))
    )


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycle_even_through_imports_inside_functions():
    edges = import_edges()
    cycles = find_cycles(edges)
    described = []
    for members in cycles:
        inside = [str(e) for e in edges if e.source in members and e.target in members]
        described.append("cycle between " + ", ".join(members) + ":\n    " + "\n    ".join(inside))
    assert not cycles, (
        "Modules import each other in a loop (an import inside a function counts too); "
        "move what both need to a lower module:\n  " + "\n  ".join(described)
    )


def test_the_checker_sees_both_kinds_of_import():
    edges = import_edges()
    assert any(e.source == "endpoints.models" and e.target == "pipelines.models" for e in edges)
    assert any(e.in_function for e in edges)  # e.g. studio.apps connecting its signals
    assert find_cycles([Edge("a", "b", "a:1", False), Edge("b", "a", "b:1", True)]) == [["a", "b"]]


def test_the_sdk_imports_no_django_and_no_server_module():
    server = {*LAYERS, "django", "ninja", "celery"}
    wrong = []
    for package in SDK_PACKAGES:
        for path in sorted(package.rglob("*.py")) if package.is_dir() else []:
            for names, line, _ in imported_names(path, _module_name(path)):
                for name in names:
                    top = name.split(".")[0]
                    if top in server and not name.startswith("pipelines.sdk"):
                        wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
                        break
    assert not wrong, "The SDK is a client that talks REST only:\n  " + "\n  ".join(wrong)
