"""Every environment variable the product's code reads is in the README's configuration table."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read by the product's code but not configuration of it.
NOT_SETTINGS = {"PATH", "HOME", "DJANGO_SETTINGS_MODULE"}
READERS = {"get", "getenv", "setdefault", "env_bool", "env_list", "pop"}


def product_files() -> list[Path]:
    """The Python files of every top-level package and manage.py; not tests, benchmarks,
    examples or the SDK (a distribution of its own, documented with the SDK)."""
    packages = [p.parent for p in ROOT.glob("*/__init__.py")]
    packages = [p for p in packages if p.name not in {"tests", "benchmarks", "examples"}]
    files = [ROOT / "manage.py"] + [f for p in packages for f in p.rglob("*.py")]
    return [f for f in files if "sdk" not in f.relative_to(ROOT).parts]


def names_read(path: Path) -> set[str]:
    """Names in ``os.environ.get("X")``, ``os.environ["X"]``, ``os.getenv("X")``,
    ``env_bool("X", …)`` and the like (string constants, as the code passes them)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            key = node.slice
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
            if name not in READERS or (
                isinstance(func, ast.Attribute) and "environ" not in owner and owner != "os"
            ):
                continue
            key = node.args[0]
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.add(key.value)
    return found


def configuration_table() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"^## Configuration\n(.*?)^## ", readme, re.S | re.M).group(1)


def test_every_environment_variable_read_is_documented():
    read = {name for path in product_files() for name in names_read(path)} - NOT_SETTINGS
    table = configuration_table()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert {"DEBUG", "STUDIO_BIND", "LOG_FORMAT", "STUDIO_STORAGE_BACKEND"} <= read  # it reads
    assert sorted(read - documented) == []
