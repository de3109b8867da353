"""Snapshots of a source folder: what is left out, reproducible content addresses, size limit."""

import gzip
import io
import os
import shutil
import tarfile

import pytest

from pipelines.sdk import SnapshotError
from pipelines.sdk.snapshots import build_snapshot, collect_files


def write(root, relative, content="x"):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "src"
    write(root, "train.py", "print('train')\n")
    write(root, "lib/util.py", "X = 1\n")
    write(root, "lib/__pycache__/util.cpython-311.pyc", b"\x00compiled")
    write(root, "stale.pyc", b"\x00")
    write(root, ".git/HEAD", "ref: refs/heads/main\n")
    write(root, ".venv/lib/site.py", "venv\n")
    write(root, "venv/bin/python", "venv\n")
    write(root, "myenv/pyvenv.cfg", "home = /usr\n")
    write(root, "myenv/lib/big.py", "venv\n")
    return root


def names(root):
    return [name for name, _ in collect_files(root)]


def test_default_ignores_leave_out_git_caches_and_virtualenvs(project):
    assert names(project) == ["lib/util.py", "train.py"]


def test_studioignore_uses_gitignore_syntax(project):
    write(project, "data/big.csv", "1,2\n")
    write(project, "results/a.csv", "1\n")
    write(project, "results/keep.csv", "1\n")
    write(project, "logs/deep/run.log", "log\n")
    write(
        project,
        ".studioignore",
        "# data is mounted at run time\ndata/\n*.csv\n!keep.csv\n**/*.log\n",
    )
    assert names(project) == [".studioignore", "lib/util.py", "results/keep.csv", "train.py"]


def test_same_content_gives_same_address_whatever_times_modes_and_place(project, tmp_path):
    first = build_snapshot(project)
    os.utime(project / "train.py", (1_000_000, 1_000_000))
    os.chmod(project / "lib" / "util.py", 0o755)
    copy = tmp_path / "elsewhere"
    shutil.copytree(project, copy)
    assert build_snapshot(project).sha256 == first.sha256
    assert build_snapshot(copy).sha256 == first.sha256
    assert build_snapshot(project).archive == first.archive

    write(project, "train.py", "print('changed')\n")
    assert build_snapshot(project).sha256 != first.sha256


def test_archive_entries_are_sorted_with_fixed_metadata(project):
    snapshot = build_snapshot(project)
    assert snapshot.files == ("lib/util.py", "train.py")
    assert snapshot.archive[4:8] == b"\x00\x00\x00\x00"  # gzip header without a time
    with tarfile.open(fileobj=io.BytesIO(snapshot.archive), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["lib/util.py", "train.py"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
            (0, 0, 0, "", "", 0o644)
        }
        assert tar.extractfile("train.py").read() == b"print('train')\n"
    assert gzip.decompress(snapshot.archive)  # a plain gzip stream


def test_folder_over_the_size_limit_is_refused_naming_the_limit(project):
    write(project, "weights.bin", os.urandom(300_000))
    with pytest.raises(SnapshotError) as caught:
        build_snapshot(project, max_bytes=100_000)
    message = str(caught.value)
    assert "size limit of 0.1 MiB (100000 bytes" in message
    assert ".studioignore" in message
    assert caught.value.code == "snapshot_too_large"
    write(project, ".studioignore", "*.bin\n")
    assert build_snapshot(project, max_bytes=100_000).files == (
        ".studioignore",
        "lib/util.py",
        "train.py",
    )


def test_size_limit_follows_the_server_setting(project, monkeypatch):
    write(project, "weights.bin", os.urandom(20_000))
    monkeypatch.setenv("STUDIO_SNAPSHOT_MAX_BYTES", "10000")
    with pytest.raises(SnapshotError, match="10000 bytes, STUDIO_SNAPSHOT_MAX_BYTES"):
        build_snapshot(project)
    monkeypatch.delenv("STUDIO_SNAPSHOT_MAX_BYTES")
    assert "weights.bin" in build_snapshot(project).files


def test_links_inside_are_stored_as_files_and_links_out_are_refused(project, tmp_path):
    os.symlink(project / "train.py", project / "alias.py")
    snapshot = build_snapshot(project)
    with tarfile.open(fileobj=io.BytesIO(snapshot.archive), mode="r:gz") as tar:
        alias = tar.getmember("alias.py")
        assert alias.isreg() and tar.extractfile(alias).read() == b"print('train')\n"

    secret = write(tmp_path, "secret.txt", "do not upload")
    os.symlink(secret, project / "secret.txt")
    with pytest.raises(SnapshotError, match="secret.txt in the source directory links outside"):
        build_snapshot(project)
    write(project, ".studioignore", "secret.txt\n")
    assert "secret.txt" not in build_snapshot(project).files


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="is not a directory"):
        build_snapshot(tmp_path / "nope")
