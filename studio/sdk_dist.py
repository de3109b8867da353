"""The SDK the studio serves at /sdk/: its version, its wheel, and the version handshake.

The wheel is built from this repository's ``sdk/`` on first use (``pip wheel`` with the hatchling
backend from requirements.txt) into ``STUDIO_SDK_WHEEL_DIR``, in a folder named after the
source's content, so an edited SDK is never served from a stale wheel. ``manage.py build_sdk``
builds it ahead of time (the Docker image does, since its code folder is read-only at run time).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path

from django.conf import settings

from pipelines.sdk._version import __version__ as SDK_VERSION  # noqa: N812

logger = logging.getLogger(__name__)

DIST_NAME = "pipeline-studio-sdk"
WHEEL_NAME = f"pipeline_studio_sdk-{SDK_VERSION}-py3-none-any.whl"
REQUIRES_PYTHON = ">=3.11"
# What sdk/pyproject.toml's dependencies name (the wheels held for them are pinned to the
# versions the server runs with; tests/studio/test_sdk_distribution.py keeps the two in step).
SDK_REQUIRES = ("requests", "pathspec")
_PROJECT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
VERSION_HEADER = "X-Studio-SDK-Version"
_VERSION = re.compile(r"\d{1,6}(\.\d{1,6}){0,3}")
_USER_AGENT = re.compile(r"pipeline-studio-sdk(?:/(\S{1,40}))?(?:\s|$)")
_build_lock = threading.Lock()


class SdkBuildError(Exception):
    """The wheel could not be built (message: pip's own words)."""


def sdk_dir() -> Path:
    return Path(settings.SDK_SRC).parent


@functools.cache
def source_digest() -> str:
    """A digest of what goes into the wheel: changes whenever the SDK's source does."""
    digest = hashlib.sha256()
    root = sdk_dir()
    files = [root / "pyproject.toml", root / "README.md", *sorted(root.glob("src/**/*.py"))]
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def wheel_path() -> Path:
    """The wheel of this server's SDK, built first when it is not there yet."""
    folder = Path(settings.SDK_WHEEL_DIR) / source_digest()
    path = folder / WHEEL_NAME
    if path.exists():
        return path
    with _build_lock:
        if not path.exists():
            _build(folder)
    return path


def _build(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Built beside its final place and renamed into it: other processes never see half a file.
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        command += ["--quiet", "--wheel-dir", scratch, str(sdk_dir())]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        built = Path(scratch) / WHEEL_NAME
        if result.returncode != 0 or not built.exists():
            logger.error("Building the SDK wheel failed: %s", result.stderr)
            raise SdkBuildError(result.stderr.strip() or f"pip wheel did not write {WHEEL_NAME}")
        os.replace(built, folder / WHEEL_NAME)


@functools.lru_cache(maxsize=64)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    with path.open("rb") as wheel:
        return hashlib.file_digest(wheel, "sha256").hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a served wheel (the simple index's ``#sha256=`` fragment), computed once
    per file content."""
    stat = path.stat()
    return _sha256(path, stat.st_size, stat.st_mtime_ns)


def project_name(name: str) -> str | None:
    """A project name as PEP 503 compares it (``Charset_Normalizer`` → ``charset-normalizer``);
    None for anything that is not a project name."""
    if not _PROJECT.fullmatch(name):
        return None
    return re.sub(r"[-_.]+", "-", name).lower()


def dependencies_dir() -> Path:
    """Where the SDK's dependency wheels lie when the studio holds them."""
    return Path(settings.SDK_WHEEL_DIR) / "dependencies"


def dependency_wheels() -> dict[str, list[Path]]:
    """The dependency wheels this studio holds, by normalised project name."""
    held: dict[str, list[Path]] = {}
    folder = dependencies_dir()
    for path in sorted(folder.glob("*.whl")) if folder.is_dir() else []:
        name = project_name(path.name.split("-", 1)[0])
        if name and name != DIST_NAME:
            held.setdefault(name, []).append(path)
    return held


def download_dependencies() -> list[Path]:
    """Put wheels of the SDK's dependencies (and theirs) beside the SDK's wheel, so that
    ``pip install --index-url <studio>/sdk/simple/ pipeline-studio-sdk`` needs no other index.

    The SDK's own dependencies are pinned to the versions this server runs with; only
    platform-independent wheels are taken, since the SDK's users are on any machine."""
    pins = [f"{name}=={version(name)}" for name in SDK_REQUIRES]
    folder = dependencies_dir()
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
    command += ["--platform", "any", "--python-version", REQUIRES_PYTHON.removeprefix(">=")]
    command += ["--dest", str(folder), *pins]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SdkBuildError(result.stderr.strip() or "pip download failed")
    return [path for paths in dependency_wheels().values() for path in paths]


def install_help(base_url: str, token: str = "<your token>") -> dict[str, str]:
    """The SDK's version and the shell lines that install it from this studio and point it
    at the studio: ``pip``, ``pip_index`` and ``export``."""
    return {
        "version": SDK_VERSION,
        "pip": f"pip install {base_url}/sdk/{WHEEL_NAME}",
        "pip_index": f"pip install --index-url {base_url}/sdk/simple/ {DIST_NAME}",
        "export": f"export STUDIO_URL={base_url} STUDIO_TOKEN={token}",
    }


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"0.1.0"`` → ``(0, 1, 0)``; None for anything that is not dot-separated numbers."""
    if not _VERSION.fullmatch(text):
        return None
    parts = tuple(int(part) for part in text.split("."))
    return parts + (0,) * (4 - len(parts))


def sdk_version_refusal(headers) -> tuple[str, str] | None:
    """Why a request's SDK may not call this studio, as ``(header, problem)``; None when it may.

    The SDK says its version in ``X-Studio-SDK-Version`` and its User-Agent. Callers that are
    not the SDK send neither and pass. An SDK that sends ``pipeline-studio-sdk`` without a
    version predates the handshake, so it is older than any supported one.
    """
    sent = headers.get(VERSION_HEADER)
    field = VERSION_HEADER
    if sent is None:
        match = _USER_AGENT.match(headers.get("User-Agent", ""))
        if match is None:
            return None
        sent, field = match.group(1) or "", "User-Agent"
    sent = sent.strip()
    minimum = settings.SDK_MIN_VERSION
    version = parse_version(sent)
    if version is None and sent and field == VERSION_HEADER:
        return field, f"{VERSION_HEADER} must be a version such as {minimum}, not {sent[:40]!r}."
    if version is not None and version >= parse_version(minimum):
        return None
    have = f"version {sent}" if sent else "a version from before 0.1.0"
    return field, (
        f"This studio needs {DIST_NAME} {minimum} or newer and you have {have}. "
        f"Install the studio's own, version {SDK_VERSION}:"
    )
