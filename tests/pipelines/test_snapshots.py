"""Source snapshots: stored once per content, unsafe archives refused, unpacked safely."""

import io
import tarfile

import pytest
from django.core.files.storage import default_storage

from pipelines.models import SourceSnapshot
from pipelines.snapshots import SnapshotError, pack_folder, store_snapshot, unpacked_snapshot

pytestmark = pytest.mark.django_db


def archive(*entries) -> bytes:
    """A .tar.gz of (TarInfo, bytes or None) entries, as a hostile client would build it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def regular(name, data=b"print('hi')\n"):
    return tarfile.TarInfo(name), data


def special(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


def test_same_content_is_stored_once(crew, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "main.py").write_text("print(1)\n")
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    data = pack_folder(tmp_path)
    first, created = store_snapshot(crew.workspace, io.BytesIO(data), by=crew.contributor)
    again, created_again = store_snapshot(crew.workspace, data)
    assert created and not created_again and again.pk == first.pk
    assert first.files == ["main.py", "pkg/util.py"]
    assert first.created_by == crew.contributor
    assert default_storage.exists(first.archive.name)
    folder = unpacked_snapshot(first)
    assert (folder / "pkg" / "util.py").read_text() == "X = 1\n"
    assert folder.name == first.sha256


@pytest.mark.parametrize(
    "entry",
    [
        regular("../escape.py"),
        regular("/etc/cron.d/evil"),
        regular("ok/../../escape.py"),
        special("link.py", tarfile.SYMTYPE, "/etc/passwd"),
        special("inside.py", tarfile.SYMTYPE, "main.py"),
        special("hard.py", tarfile.LNKTYPE, "main.py"),
        special("dev", tarfile.CHRTYPE),
        special("fifo", tarfile.FIFOTYPE),
    ],
    ids=[
        "dotdot",
        "absolute",
        "nested-dotdot",
        "symlink-out",
        "symlink-in",
        "hardlink",
        "device",
        "fifo",
    ],
)
def test_unsafe_entries_are_refused_and_nothing_is_stored(crew, entry):
    with pytest.raises(SnapshotError) as caught:
        store_snapshot(crew.workspace, archive(regular("main.py"), entry))
    assert entry[0].name in caught.value.message
    assert not caught.value.too_large
    assert SourceSnapshot.objects.count() == 0


def test_archive_over_the_size_limit_is_refused(crew, settings):
    settings.STUDIO_SNAPSHOT_MAX_BYTES = 1000
    import os

    with pytest.raises(SnapshotError) as caught:
        store_snapshot(crew.workspace, archive(regular("big.bin", os.urandom(5000))))
    assert caught.value.too_large and "1000 bytes" in caught.value.message
    assert SourceSnapshot.objects.count() == 0


def test_unreadable_archive_is_refused(crew):
    with pytest.raises(SnapshotError, match="not a readable .tar.gz"):
        store_snapshot(crew.workspace, b"this is not a tarball")


def test_tampered_archive_is_not_unpacked(crew, tmp_path):
    (tmp_path / "main.py").write_text("print(1)\n")
    snapshot, _ = store_snapshot(crew.workspace, pack_folder(tmp_path))
    name = snapshot.archive.name
    default_storage.delete(name)
    default_storage.save(name, io.BytesIO(archive(regular("main.py", b"print(2)\n"))))
    with pytest.raises(SnapshotError, match="does not match its hash"):
        unpacked_snapshot(snapshot)
