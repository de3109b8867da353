"""Source snapshots: a step's folder as a reproducible .tar.gz addressed by its sha256.

The same folder content always gives the same bytes (sorted entries, fixed times, owners and
modes, a gzip header without name or time), so the hash names the content and an unchanged
folder is never uploaded twice: the SDK asks ``GET /snapshots/{sha}`` first.

What is left out: ``.git``, ``__pycache__``, ``*.pyc``, virtualenvs (``.venv``, ``venv`` and any
folder holding a ``pyvenv.cfg``), and whatever ``.studioignore`` (gitignore syntax) names.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from ._http import HttpClient
from .errors import NotFoundError, SnapshotError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
IGNORE_FILE = ".studioignore"
DEFAULT_IGNORE = (".git/", "__pycache__/", ".venv/", "venv/", "*.pyc")
# The server also refuses more files, or more bytes once unpacked than this times the limit.
MAX_FILES = 10_000
UNPACKED_FACTOR = 10
_FIXED_MTIME = 0
_FILE_MODE = 0o644


def max_snapshot_bytes() -> int:
    """The size limit: ``STUDIO_SNAPSHOT_MAX_BYTES`` like the server, else 50 MiB."""
    value = os.environ.get("STUDIO_SNAPSHOT_MAX_BYTES", "")
    return int(value) if value.isdigit() else DEFAULT_MAX_BYTES


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass(frozen=True)
class Snapshot:
    """A built snapshot: its content address, archive bytes and the files inside."""

    sha256: str
    archive: bytes = field(repr=False)
    files: tuple[str, ...]
    source_directory: Path

    @property
    def size(self) -> int:
        """Size of the .tar.gz in bytes."""
        return len(self.archive)


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    lines = list(DEFAULT_IGNORE)
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        lines += ignore_file.read_text(encoding="utf-8").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def collect_files(source_directory: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """The ``(archive name, path on disk)`` of every file a snapshot takes, sorted by name.

    Raises :class:`SnapshotError` when the folder is missing or a kept entry is a link that
    leaves the folder or points at a directory.
    """
    root = Path(source_directory).resolve()
    if not root.is_dir():
        raise SnapshotError(f"source_directory {str(source_directory)!r} is not a directory")
    spec = _ignore_spec(root)
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        kept_dirs = []
        for name in dirnames:
            path = here / name
            if spec.match_file(f"{prefix}{name}/") or (path / "pyvenv.cfg").exists():
                continue
            if path.is_symlink():
                raise SnapshotError(
                    f"{prefix}{name} in the source directory is a link to a directory; "
                    f"copy it in or list it in {IGNORE_FILE}"
                )
            kept_dirs.append(name)
        dirnames[:] = sorted(kept_dirs)
        for name in filenames:
            rel = f"{prefix}{name}"
            if spec.match_file(rel):
                continue
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    raise SnapshotError(
                        f"{rel} in the source directory links outside it; "
                        f"copy the file in or list it in {IGNORE_FILE}"
                    )
            elif not path.is_file():
                continue  # sockets, fifos, devices: never part of a snapshot
            found.append((rel, path))
    found.sort(key=lambda item: item[0])
    return found


def _too_large(source_directory: Any, what: str, limit: int) -> SnapshotError:
    return SnapshotError(
        f"The snapshot of source_directory {str(source_directory)!r} is too large: {what}, over "
        f"the snapshot size limit of {_mib(limit)} ({limit} bytes, STUDIO_SNAPSHOT_MAX_BYTES). "
        f"List what the steps do not need (data, models, outputs) in {IGNORE_FILE}.",
        code="snapshot_too_large",
    )


def build_snapshot(
    source_directory: str | os.PathLike[str], max_bytes: int | None = None
) -> Snapshot:
    """Pack ``source_directory`` into a reproducible .tar.gz and hash it.

    The archive may not exceed ``max_bytes`` (default :func:`max_snapshot_bytes`, the server's
    limit), nor the files ten times that or more than 10,000 files (the server's limits
    once unpacked). Raises :class:`SnapshotError` naming the limit, before anything is sent.
    """
    limit = max_snapshot_bytes() if max_bytes is None else max_bytes
    files = collect_files(source_directory)
    if len(files) > MAX_FILES:
        raise _too_large(source_directory, f"{len(files)} files (at most {MAX_FILES})", limit)
    total = sum(path.stat().st_size for _, path in files)
    if total > UNPACKED_FACTOR * limit:
        raise _too_large(
            source_directory, f"{_mib(total)} of files (at most {UNPACKED_FACTOR}x)", limit
        )
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=_FIXED_MTIME) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in files:
                data = path.read_bytes()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = _FIXED_MTIME
                info.mode = _FILE_MODE
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
                if buffer.tell() > limit:
                    raise _too_large(source_directory, "the archive outgrew the limit", limit)
    archive = buffer.getvalue()
    if len(archive) > limit:
        raise _too_large(source_directory, f"the archive is {_mib(len(archive))}", limit)
    return Snapshot(
        sha256=hashlib.sha256(archive).hexdigest(),
        archive=archive,
        files=tuple(name for name, _ in files),
        source_directory=Path(source_directory).resolve(),
    )


def ensure_uploaded(http: HttpClient, snapshot: Snapshot) -> bool:
    """Upload ``snapshot`` unless the server has it already; return whether it was uploaded."""
    try:
        http.get(f"/snapshots/{snapshot.sha256}")
        return False
    except NotFoundError:
        pass
    http.post(
        "/snapshots",
        files={"archive": (f"{snapshot.sha256}.tar.gz", snapshot.archive, "application/gzip")},
        idempotent=True,  # content-addressed: a repeat stores nothing new
    )
    return True
