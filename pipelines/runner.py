"""Running one step: ``python <script> <argv…>`` in a fresh working folder.

The worker claims the step, fetches its inputs from storage, hands the folder to the step
account and starts the script as that account (in its sandbox when asked, never through a
shell) with a run token as its only credential (:mod:`pipelines.step_isolation`), streams
its output into ``StepRun.log`` and beats a heartbeat while it runs, kills the script and
everything it started on timeout, cancel or exit (:mod:`pipelines.step_processes`), stores
the output folders, then records how the step ended.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import posixpath
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from pipelines.graph import render_argv
from pipelines.models import RunStatus, SourceSnapshot, StepRun
from pipelines.scheduler import claim_step, complete_step, run_plan
from pipelines.snapshots import unpacked_snapshot
from pipelines.step_isolation import (
    hand_over,
    link_sources,
    sandboxed,
    step_launch,
    work_root,
)
from pipelines.step_processes import children, kill_descendants
from pipelines.step_tokens import issue_step_token

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
# How long one task goes on with the steps of its run that it could take up without a
# broker round trip (see scheduler.complete_step).
CHAIN_SECONDS = 30
KILL_GRACE_SECONDS = 3


def file_digest(handle) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def save_output(folder: Path, prefix: str) -> dict:
    """Store the regular files under ``folder`` (links are skipped) below ``prefix``;
    returns ``{"path", "files", "digest", "size"}`` for StepRun.outputs.

    The folder belonged to the step account, which other steps may still use: it is walked
    through directory descriptors and files are opened without following links, so nothing
    swapped in for a file or folder meanwhile can make the worker read outside it.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        parent = os.open(folder.parent, flags | os.O_DIRECTORY)
    except OSError as error:
        raise ValueError(f"The output folders were replaced ({error.strerror}).") from None
    files, lines, size = [], [], 0
    try:
        if not stat.S_ISDIR(os.stat(folder.name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise ValueError(f"The output folder {folder.name!r} was replaced by a link.")
        for root, _dirs, names, root_fd in os.fwalk(folder.name, dir_fd=parent):
            for name in sorted(names):
                try:
                    fd = os.open(name, flags, dir_fd=root_fd)
                except OSError:  # a link (ELOOP) or gone
                    continue
                with os.fdopen(fd, "rb") as handle:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    relative = posixpath.relpath(posixpath.join(root, name), folder.name)
                    key = f"{prefix}/{relative}"
                    lines.append(f"{relative}\0{file_digest(handle)}\n")
                    if default_storage.exists(key):
                        default_storage.delete(key)
                    default_storage.save(key, File(handle, name=name))
                files.append(relative)
                size += info.st_size
    finally:
        os.close(parent)
    digest = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    return {"path": prefix, "files": sorted(files), "digest": digest, "size": size}


def fetch_input(output: dict, folder: Path) -> None:
    """Copy a stored output (as recorded in StepRun.outputs) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for relative in output.get("files", []):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(f"{output['path']}/{relative}", "rb") as source:
            with target.open("wb") as out:
                shutil.copyfileobj(source, out)


def kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def utf8_cut(data: bytes, index: int) -> int:
    """``index`` moved back to the start of the UTF-8 character it falls in, so that
    ``data[:cut]`` never ends with part of a character."""
    while 0 < index < len(data) and (data[index] & 0xC0) == 0x80:
        index -= 1
    return index


class LogPump(threading.Thread):
    """Reads the step's combined stdout/stderr; ``take()`` returns the text not taken yet.

    At most STUDIO_MAX_LOG_BYTES bytes of UTF-8 are kept: the first half as it comes, then
    only the last half, held here while the step runs and handed over when its output ends.
    A long log still ends with the step's final lines, such as the traceback of a failure.
    """

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.limit = settings.STUDIO_MAX_LOG_BYTES
        self.head_room = self.limit // 2  # bytes still passed on as they come
        self.tail = bytearray()  # the latest bytes once the head is full
        self.left_out = 0

    def run(self) -> None:
        fd = self.stream.fileno()
        while chunk := os.read(fd, 65536):
            self.add(self.decoder.decode(chunk))
        self.add(self.decoder.decode(b"", final=True))
        self.end()

    def add(self, text: str) -> None:
        if not text:
            return
        data = text.encode("utf-8")
        with self.lock:
            rest = b""
            if self.head_room > 0:
                cut = utf8_cut(data, min(self.head_room, len(data)))
                data, rest = data[:cut], data[cut:]
                self.head_room -= len(data)
                self.pending.append(data.decode("utf-8"))
                if rest:
                    self.head_room = 0
                    self.pending.append(
                        f"\n[studio] This log passed {self.limit // 2:,} bytes: from here only "
                        "its last part is kept, and it appears when the step ends.\n"
                    )
            else:
                rest = data
            self.tail += rest
            over = len(self.tail) - (self.limit - self.limit // 2)
            if over > 0:
                del self.tail[:over]
                self.left_out += over

    def end(self) -> None:
        """Hand over the kept end of a log that passed the limit (at the end of output)."""
        with self.lock:
            if not self.tail:
                return
            start = 0
            while start < len(self.tail) and (self.tail[start] & 0xC0) == 0x80:
                start += 1  # The first character lost its first bytes when they were dropped.
            self.left_out += start
            if self.left_out:
                self.pending.append(f"[studio] {self.left_out:,} bytes left out here.\n")
            self.pending.append(self.tail[start:].decode("utf-8"))
            self.tail = bytearray()

    def take(self) -> str:
        with self.lock:
            text, self.pending = "".join(self.pending), []
        return text


class StepExecution:
    """One attempt of one step on this worker."""

    def __init__(self, step: StepRun, attempt: int, workdir: Path, go_on: bool = True):
        self.step, self.attempt, self.workdir = step, attempt, workdir
        self.go_on = go_on  # whether the worker may go on with another step of the run
        self.run = step.run
        self.plan = run_plan(self.run)
        self.spec = self.plan.specs[step.name]
        self.ended_by = ""  # "canceled", "lost" or "timeout" when the worker stopped it

    def prepare(self) -> Path:
        """Inputs fetched, output folders made, sources linked, the folder handed to the
        step account; returns the script path."""
        writers = self.plan.writers
        if self.spec["inputs"]:
            producers = dict(
                self.run.steps.filter(name__in=self.plan.producers(self.step.name)).values_list(
                    "name", "outputs"
                )
            )
            for name in self.spec["inputs"]:
                fetch_input(producers[writers[name]].get(name, {}), self.workdir / "inputs" / name)
        for name in self.spec["outputs"]:
            (self.workdir / "outputs" / name).mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        (self.workdir / "cwd").mkdir(exist_ok=True)
        link_sources(
            snapshot_folder(self.run.workspace_id, self.spec["snapshot"]), self.workdir / "src"
        )
        hand_over(self.workdir)
        return self.workdir / "src" / self.spec["script_name"]

    def environment(self) -> dict[str, str]:
        # Only what a script needs: never the worker's secrets (database, broker, keys). Its
        # one credential is the run token, good for this step run while it runs.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.workdir / "cwd"),
            "TMPDIR": str(self.workdir / "tmp"),
            "PYTHONPATH": str(settings.SDK_SRC),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "STUDIO_RUN_ID": str(self.run.pk),
            "STUDIO_STEP_RUN_ID": str(self.step.pk),
        }
        if settings.STUDIO_STEP_API_URL:
            env["STUDIO_URL"] = settings.STUDIO_STEP_API_URL
            env["STUDIO_STEP_TOKEN"] = issue_step_token(self.step, self.attempt)
        return env

    def flush(self, pump: LogPump, beat: bool = True) -> None:
        """Append new log text and beat the heartbeat; notices a cancel (step Canceling)
        or a lost claim (another attempt owns the step)."""
        text = pump.take()
        if not text and not beat:
            return
        fields = {"heartbeat_at": timezone.now()}
        if text:
            fields["log"] = Concat(F("log"), Value(text))
        mine = StepRun.objects.filter(pk=self.step.pk, attempts=self.attempt)
        if mine.filter(status=RunStatus.RUNNING).update(**fields):
            return
        if mine.filter(status=RunStatus.CANCELING).update(**fields):
            self.ended_by = self.ended_by or "canceled"
        else:
            self.ended_by = "lost"

    def supervise(self, process: subprocess.Popen, pump: LogPump) -> None:
        deadline = time.monotonic() + self.spec["timeout_seconds"]
        last_flush = time.monotonic()
        # The pump ends at end of output, the moment the script exits: no polling delay.
        while pump.is_alive():
            pump.join(timeout=0.1)
            if not pump.is_alive() or process.poll() is not None:
                break  # Children still holding the output open are killed by the caller.
            now = time.monotonic()
            if now - last_flush >= FLUSH_SECONDS:
                self.flush(pump)
                last_flush = now
            if now >= deadline and not self.ended_by:
                self.ended_by = "timeout"
            if self.ended_by:
                self.stop(process)
                break

    def stop(self, process: subprocess.Popen) -> None:
        kill_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            kill_group(process.pid, signal.SIGKILL)
            process.wait()

    def execute(self) -> StepRun | None:
        script = self.prepare()
        spared = children(os.getpid())  # a beat or pool process of a solo worker
        argv, options = step_launch(
            sandboxed([sys.executable, str(script), *self.step.argv[1:]], self.workdir)
        )
        process = subprocess.Popen(
            argv,
            cwd=self.workdir / "cwd",
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **options,  # before the pump thread starts (a preexec_fn without setpriv)
        )
        pump = LogPump(process.stdout)
        pump.start()
        try:
            self.supervise(process, pump)
        finally:
            kill_group(process.pid, signal.SIGKILL)
            process.wait()
            kill_descendants(spared)  # what it started in other sessions, too
            pump.join(timeout=5)
            process.stdout.close()
        self.flush(pump, beat=False)  # complete_step notices a cancel or a lost claim
        return self.finish(process.returncode)

    def finish(self, returncode: int) -> StepRun | None:
        """Record the end of the step; returns the next step to run here, if any."""
        if self.ended_by == "lost":
            return None
        if self.ended_by == "canceled":
            return complete_step(
                self.step,
                self.attempt,
                RunStatus.CANCELED,
                exit_code=returncode,
                reason="Canceled while running.",
                go_on=self.go_on,
            )
        elif self.ended_by == "timeout":
            limit = self.spec["timeout_seconds"]
            return complete_step(
                self.step,
                self.attempt,
                RunStatus.FAILED,
                exit_code=returncode,
                reason=f"Timed out after {limit:g} s; its processes were killed.",
                go_on=self.go_on,
            )
        elif returncode != 0:
            reason = (
                f"Killed by signal {-returncode}."
                if returncode < 0
                else f"The script exited with code {returncode}."
            )
            return complete_step(
                self.step,
                self.attempt,
                RunStatus.FAILED,
                exit_code=returncode,
                reason=reason,
                go_on=self.go_on,
            )
        else:
            prefix = f"runs/{self.run.pk}/steps/{self.step.pk}/{self.attempt}"
            outputs = {
                name: save_output(self.workdir / "outputs" / name, f"{prefix}/{name}")
                for name in self.spec["outputs"]
            }
            return complete_step(
                self.step,
                self.attempt,
                RunStatus.FINISHED,
                exit_code=0,
                outputs=outputs,
                go_on=self.go_on,
            )


_snapshot_folders: dict[tuple[int, str], Path] = {}


def snapshot_folder(workspace_id: int, sha256: str) -> Path:
    """The unpacked folder of the workspace's snapshot ``sha256``: looked up and unpacked
    once per worker process (again only if its folder went away)."""
    key = (workspace_id, sha256)
    folder = _snapshot_folders.get(key)
    if folder is None or not folder.is_dir():
        snapshot = SourceSnapshot.objects.get(workspace_id=workspace_id, sha256=sha256)
        folder = _snapshot_folders[key] = unpacked_snapshot(snapshot)
    return folder


def workdir_of(step: StepRun) -> Path:
    """The fresh working folder of the step's current attempt."""
    return Path(settings.STUDIO_WORK_DIR) / "steps" / f"{step.pk}-{step.attempts}"


def argv_of(step: StepRun, workdir: Path) -> list[str]:
    """``[script_name, *arguments]`` with parameter values and the data folders' paths."""
    spec = run_plan(step.run).specs[step.name]
    paths = {name: workdir / "inputs" / name for name in spec["inputs"]}
    paths.update({name: workdir / "outputs" / name for name in spec["outputs"]})
    return [spec["script_name"], *render_argv(spec["arguments"], step.run.parameters, paths)]


def run_claimed(step: StepRun, go_on: bool = True) -> StepRun | None:
    """Run the current attempt of a step this worker claimed; returns the next step to run
    here (already claimed), if any (none unless ``go_on``)."""
    attempt, workdir = step.attempts, workdir_of(step)
    work_root()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(mode=0o700)
    try:
        return StepExecution(step, attempt, workdir, go_on).execute()
    except Exception as error:
        logger.exception("step run %s failed in the worker", step.pk)
        StepRun.objects.filter(pk=step.pk, attempts=attempt).update(
            log=Concat(F("log"), Value(f"\n[studio] {type(error).__name__}: {error}\n"))
        )
        return complete_step(
            step,
            attempt,
            RunStatus.FAILED,
            reason=f"The worker could not run the step: {type(error).__name__}: {error}",
            go_on=go_on,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def execute_step(step_run_id: int, attempt: int, worker: str) -> None:
    """Claim attempt ``attempt`` of a step and run it to its end on this worker, then the
    steps after it that became ready for the same compute target, or other Queued steps of
    the run (for up to CHAIN_SECONDS).

    A message for a step that is not Queued any more, or for an attempt already claimed
    (a redelivery), does nothing, so a step never runs twice.
    """
    step = (
        StepRun.objects.select_related("run")
        .defer("log", "run__graph")  # the graph is read once per process (run_plan)
        .filter(pk=step_run_id)
        .first()
    )
    if step is None:
        return
    run = step.run
    step.attempts = attempt  # the folder and argv of the attempt being claimed
    if not claim_step(step, attempt, worker, argv_of(step, workdir_of(step))):
        return
    started = time.monotonic()
    while step is not None:
        # After CHAIN_SECONDS the steps after this one go through the broker again, behind
        # what other runs queued meanwhile, and a warm shutdown waits for one step only.
        step = run_claimed(step, go_on=time.monotonic() - started < CHAIN_SECONDS)
        if step is not None:
            step.run = run
            step.argv = argv_of(step, workdir_of(step))
            StepRun.objects.filter(pk=step.pk, attempts=step.attempts).update(argv=step.argv)
