"""Source snapshots: content-addressed .tar.gz archives of a step's source folder.

``store_snapshot`` checks an uploaded archive (size, only regular files and folders, no
path leaving the archive) and stores it once per workspace and content. Workers call
``unpacked_snapshot`` to get a folder holding its files, unpacked once per hash into a
cache under ``settings.STUDIO_WORK_DIR`` and never through tarfile's own extraction.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from core.actors import actor_user
from core.errors import InvalidInput, TooLarge
from pipelines.graph import safe_relative_path
from pipelines.models import SourceSnapshot

MAX_FILES = 10_000


class SnapshotError(InvalidInput):
    """The archive is not acceptable; ``too_large`` marks a size refusal (HTTP 413)."""

    def __init__(self, message: str, details: list[dict] | None = None, too_large=False):
        super().__init__(message, details or [{"field": "archive", "message": message}])
        self.too_large = too_large
        if too_large:
            self.status, self.code = TooLarge.status, TooLarge.code


def _read_limited(archive) -> bytes:
    limit = settings.STUDIO_SNAPSHOT_MAX_BYTES
    data = archive.read(limit + 1) if hasattr(archive, "read") else bytes(archive)
    if len(data) > limit:
        raise SnapshotError(
            f"The snapshot archive is larger than the limit of {limit} bytes.", too_large=True
        )
    return data


def archive_files(data: bytes | BinaryIO) -> list[str]:
    """The regular files of a .tar.gz archive (bytes or a file at its start), after checking
    every entry is safe.

    Refused: links (symbolic or hard), devices, FIFOs, absolute paths, ``..`` entries,
    more than MAX_FILES files, or more than ten times the size limit once unpacked.
    """
    files, total = [], 0
    try:
        fileobj = io.BytesIO(data) if isinstance(data, bytes) else data
        with tarfile.open(fileobj=fileobj, mode="r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name in ("", "."):
                    continue
                if not safe_relative_path(name):
                    raise SnapshotError(f"The archive entry {member.name!r} leaves the snapshot.")
                if member.issym() or member.islnk():
                    raise SnapshotError(
                        f"The archive entry {member.name!r} is a link; "
                        "snapshots hold only files and folders."
                    )
                if member.isdir():
                    continue
                if not member.isreg():
                    raise SnapshotError(f"The archive entry {member.name!r} is not a regular file.")
                total += member.size
                files.append(posixpath.normpath(name))
    except tarfile.TarError as error:
        raise SnapshotError(f"The snapshot is not a readable .tar.gz archive: {error}.") from None
    except (OSError, EOFError) as error:
        raise SnapshotError(f"The snapshot is not a readable .tar.gz archive: {error}.") from None
    if len(files) > MAX_FILES:
        raise SnapshotError(f"The snapshot holds more than {MAX_FILES} files.", too_large=True)
    if total > 10 * settings.STUDIO_SNAPSHOT_MAX_BYTES:
        raise SnapshotError("The snapshot is too large once unpacked.", too_large=True)
    if len(set(files)) != len(files):
        raise SnapshotError("The archive holds the same file twice.")
    return sorted(files)


def store_snapshot(workspace, archive, by=None):
    """Store a .tar.gz archive (file-like or bytes) once; returns ``(snapshot, created)``.

    Raises SnapshotError when it is too large, unreadable or holds an unsafe entry;
    nothing is written then.
    """
    data = _read_limited(archive)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = SourceSnapshot.objects.filter(workspace=workspace, sha256=sha256).first()
    if existing is not None:
        return existing, False
    files = archive_files(data)
    path = f"snapshots/{sha256}.tar.gz"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    try:
        with transaction.atomic():
            snapshot = SourceSnapshot.objects.create(
                workspace=workspace,
                sha256=sha256,
                archive=path,
                size=len(data),
                files=files,
                created_by=actor_user(by),
            )
    except IntegrityError:
        return SourceSnapshot.objects.get(workspace=workspace, sha256=sha256), False
    return snapshot, True


def pack_folder(folder) -> bytes:
    """A deterministic .tar.gz of the regular files under ``folder`` (links are skipped)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file() or "__pycache__" in path.parts:
                continue
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def snapshot_from_folder(workspace, folder, by=None):
    """Pack ``folder`` and store it as a snapshot; returns ``(snapshot, created)``."""
    return store_snapshot(workspace, pack_folder(folder), by=by)


def unpacked_snapshot(snapshot) -> Path:
    """The folder holding the snapshot's files, unpacked into the cache on first use."""
    target = Path(settings.STUDIO_WORK_DIR) / "snapshots" / snapshot.sha256
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as archive:
        _download(snapshot, archive)
        files = set(archive_files(archive))
        archive.seek(0)
        _unpack(archive, files, target)
    return target


def _download(snapshot, archive: BinaryIO) -> None:
    """Copy the stored archive into ``archive`` block by block, checking its hash."""
    digest = hashlib.sha256()
    with default_storage.open(snapshot.archive.name, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            archive.write(block)
    if digest.hexdigest() != snapshot.sha256:
        raise SnapshotError(f"Snapshot {snapshot.sha256[:12]} does not match its hash.")
    archive.seek(0)


def _unpack(archive: BinaryIO, files: set[str], target: Path) -> None:
    """Write the archive's checked ``files`` into a staging folder renamed to ``target``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=archive, mode="r:gz") as tar:
            for member in tar:
                name = posixpath.normpath(member.name.removeprefix("./"))
                if name not in files or not member.isreg():
                    continue
                destination = staging / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                with destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # Lost a race with another worker only if it is there.
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
