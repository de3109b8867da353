"""Snapshots, step outputs and downloads on a real S3 API (moto's server on loopback), and
two workers that share nothing but the database, the broker and that store.

The session's worker consumes "cpu" with local files, so these runs use compute targets it
does not take: "edge" (the first machine) and "gpu" (the second).
"""

import hashlib
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from pipelines.models import RunStatus
from studio.models import ApiToken, Role
from tests.fixtures.worker import wait_for_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TARGETS = "cpu,gpu,edge"
BIG = 9 * 1024 * 1024  # past the S3 multipart threshold and the in-memory limit (8 MiB)

SCRIPTS = {
    "produce.py": """
        import pathlib, sys
        out = pathlib.Path(sys.argv[1])
        (out / "numbers.txt").write_text("1 2 3", encoding="utf-8")
        block = bytes(range(256)) * 4096
        with (out / "big.bin").open("wb") as handle:
            for _ in range(9):
                handle.write(block)
    """,
    "gpu_double.py": """
        import hashlib, pathlib, sys
        source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
        numbers = [int(n) * 2 for n in (source / "numbers.txt").read_text().split()]
        (out / "numbers.txt").write_text(" ".join(map(str, numbers)), encoding="utf-8")
        digest = hashlib.sha256((source / "big.bin").read_bytes()).hexdigest()
        (out / "big.sha256").write_text(digest, encoding="utf-8")
    """,
    "consume.py": """
        import pathlib, sys
        source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
        total = sum(int(n) for n in (source / "numbers.txt").read_text().split())
        (out / "sum.txt").write_text(str(total), encoding="utf-8")
        (out / "big.sha256").write_text((source / "big.sha256").read_text(), encoding="utf-8")
    """,
}


def data(name: str) -> dict:
    return {"data": name}


def big_digest() -> str:
    return hashlib.sha256(bytes(range(256)) * 4096 * 9).hexdigest()


@pytest.fixture
def edge_targets(settings):
    settings.STUDIO_COMPUTE_TARGETS = TARGETS.split(",")


def machine(tmp_path: Path, name: str, s3_server) -> dict:
    """The environment of a worker on its own machine: its own work folder and media root,
    the shared S3 store."""
    home = tmp_path / name
    return {
        **s3_server.env,
        "STUDIO_COMPUTE_TARGETS": TARGETS,
        "STUDIO_WORK_DIR": str(home / "work"),
        "MEDIA_ROOT": str(home / "media"),
    }


def test_a_snapshot_is_stored_in_the_bucket_not_on_local_disk(s3_storage, crew, tmp_path):
    snapshot = make_snapshot(crew.workspace, tmp_path, {"hello.py": "print('hi')\n"})

    assert s3_storage.keys("snapshots/") == [f"snapshots/{snapshot.sha256}.tar.gz"]
    assert not (Path(settings.MEDIA_ROOT) / snapshot.archive.name).exists()


def test_three_steps_pass_data_across_two_machines_through_s3(
    s3_storage, edge_targets, worker_factory, crew, tmp_path, live_server, client
):
    first = worker_factory("edge", env=machine(tmp_path, "machine-a", s3_storage))
    second = worker_factory("gpu", env=machine(tmp_path, "machine-b", s3_storage))
    snap = make_snapshot(crew.workspace, tmp_path, SCRIPTS)
    run = submit(
        crew,
        [
            step(
                "produce", snap, "produce.py", [data("raw")], outputs=["raw"], compute_target="edge"
            ),
            step(
                "double",
                snap,
                "gpu_double.py",
                [data("raw"), data("doubled")],
                inputs=["raw"],
                outputs=["doubled"],
                compute_target="gpu",
            ),
            step(
                "consume",
                snap,
                "consume.py",
                [data("doubled"), data("total")],
                inputs=["doubled"],
                outputs=["total"],
                compute_target="edge",
            ),
        ],
    )
    wait_for_run(run, timeout=120)
    assert run.status == RunStatus.FINISHED, run.error

    steps = {s.name: s for s in run.steps.all()}
    assert steps["produce"].worker.startswith(f"{first.name}@")
    assert steps["double"].worker.startswith(f"{second.name}@")  # the GPU step: machine B only
    assert steps["consume"].worker.startswith(f"{first.name}@")

    for name, producer, files in [
        ("raw", "produce", ["big.bin", "numbers.txt"]),
        ("doubled", "double", ["big.sha256", "numbers.txt"]),
        ("total", "consume", ["big.sha256", "sum.txt"]),
    ]:
        prefix = steps[producer].outputs[name]["path"]
        assert s3_storage.keys(prefix + "/") == [f"{prefix}/{file}" for file in files]
    # Nothing went to either machine's local media root: the store is the only shared place.
    assert [p for m in ("machine-a", "machine-b") for p in (tmp_path / m).rglob("media/*")] == []

    _, secret = ApiToken.issue(crew.workspace, name="download", role=Role.READER)
    auth = {"Authorization": f"Bearer {secret}"}
    # The REST download routes read from the bucket.
    base = f"{live_server.url}/api/v1/runs/{run.pk}/steps"
    total = requests.get(f"{base}/{steps['consume'].pk}/outputs/total", headers=auth, timeout=60)
    assert total.status_code == 200
    with zipfile.ZipFile(BytesIO(total.content)) as archive:
        assert archive.read("sum.txt") == b"12"
        assert archive.read("big.sha256").decode() == big_digest()
    big = requests.get(
        f"{base}/{steps['produce'].pk}/outputs/raw/files/big.bin", headers=auth, timeout=60
    )
    assert big.status_code == 200
    assert len(big.content) == BIG
    assert hashlib.sha256(big.content).hexdigest() == big_digest()
    # So does the run page's download link.
    client.force_login(crew.contributor)
    link = reverse("pipelines:step_output", args=[run.pk, steps["produce"].pk, "raw", "big.bin"])
    page = client.get(link)
    assert page.status_code == 200
    assert hashlib.sha256(b"".join(page.streaming_content)).hexdigest() == big_digest()
