"""Keeping step code away from the server, other workspaces and other steps.

- **Account.** A root worker starts each step as ``STUDIO_STEP_USER`` (through util-linux's
  ``setpriv``, which switches account and sets the parent-death signal before it executes the
  step, so the worker starts it with vfork; without ``setpriv``, setgid, setgroups([]) and
  setuid in a forked child before exec). That account owns nothing of the server's: the server
  writes everything with umask 007 (settings), :func:`secure_server_folders` takes the "other"
  bits off what an older version left, and the step's work folder is handed to the account
  only for the step's lifetime. A worker that cannot switch accounts says so loudly at start.
- **Sandbox.** With ``STUDIO_STEP_SANDBOX=bwrap`` the step runs under bubblewrap in its own
  mount, pid, ipc and uts namespaces, seeing only the Python installation, the SDK, a few
  files of /etc and its own work folder (the only place it can write).
- **Credential.** What the step may ask of the studio goes through its run token
  (:mod:`pipelines.step_tokens`); its environment holds nothing else of the server's.
"""

from __future__ import annotations

import functools
import logging
import os
import pwd
import py_compile
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from pipelines.step_processes import die_with_worker

logger = logging.getLogger(__name__)

# What a sandboxed step sees of the host besides its work folder: the system's programs and
# libraries, the Python installation, and the /etc files name lookups and TLS need.
SANDBOX_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
SANDBOX_ETC = (
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/group",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/resolv.conf",
    "/etc/ssl",
)


@dataclass(frozen=True)
class StepAccount:
    """The unprivileged account steps run as."""

    name: str
    uid: int
    gid: int


@functools.cache
def step_account() -> StepAccount | None:
    """The account steps run as, or None when they run as the worker's own user (a worker
    that is not root, no ``STUDIO_STEP_USER``, or an account that does not exist)."""
    name = settings.STUDIO_STEP_USER
    if not name or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    if entry.pw_uid == 0:
        return None
    return StepAccount(name, entry.pw_uid, entry.pw_gid)


def isolation_warnings() -> list[str]:
    """What this worker cannot do to keep steps away from the server, said at start."""
    warnings = []
    name = settings.STUDIO_STEP_USER
    if step_account() is None:
        me = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() != 0 else "root"
        if not name:
            why = "STUDIO_STEP_USER is empty"
        elif os.geteuid() != 0:
            why = f"this worker runs as {me}, not root, so it cannot switch to {name!r}"
        else:
            why = f"the account STUDIO_STEP_USER={name!r} does not exist"
        warnings.append(
            f"STEPS RUN AS {me.upper()}, THE WORKER'S OWN USER: {why}. Step code can read "
            "whatever this worker can (its environment with the database and broker URLs, the "
            "database file, every workspace's files). Use this only when every step author "
            "may see everything; see the README's 'Security model'."
        )
    elif problem := interpreter_problem():
        warnings.append(f"STEPS WILL FAIL: {problem}")
    if not settings.STUDIO_STEP_API_URL:
        warnings.append(
            "Neither STUDIO_STEP_API_URL nor STUDIO_BASE_URL is set: steps cannot reach the "
            "studio, so metrics they log are only printed."
        )
    if settings.STUDIO_STEP_SANDBOX == "bwrap" and (problem := sandbox_problem()):
        warnings.append(f"STUDIO_STEP_SANDBOX=bwrap but {problem} Steps will fail.")
    return warnings


def launch_options() -> dict:
    """``subprocess.Popen`` keyword arguments that start a step as the step account, with
    files it creates private to it."""
    account = step_account()
    if account is None:
        return {"umask": 0o077}
    return {"user": account.uid, "group": account.gid, "extra_groups": [], "umask": 0o077}


@functools.cache
def setpriv() -> str | None:
    """util-linux's setpriv, or None where it is missing."""
    return shutil.which("setpriv")


def step_launch(command: list[str]) -> tuple[list[str], dict]:
    """``(argv, Popen keyword arguments)`` that start ``command`` as the step account (when
    the worker can switch to it), killed with SIGKILL when the worker dies, and making its
    files private to it.

    With ``setpriv`` the switch and the parent-death signal happen in ``setpriv`` itself, so
    Python starts the process with vfork: a fork of a worker of a hundred megabytes or more
    copies its page tables, about as long as the step's interpreter takes to start. Without
    it, Popen forks and does both in the child before exec.
    """
    tool, account = setpriv(), step_account()
    if tool is None:
        return command, {"preexec_fn": die_with_worker, **launch_options()}
    prefix = [tool, "--pdeathsig", "KILL"]
    if account is not None:
        prefix += [f"--reuid={account.uid}", f"--regid={account.gid}", "--clear-groups"]
    return [*prefix, "--", *command], {"umask": 0o077}


def interpreter_problem() -> str | None:
    """Why the step account cannot run this Python with the SDK, or None when it can."""
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import pipelines.sdk"],
            capture_output=True,
            text=True,
            cwd="/",
            env={"PYTHONPATH": str(settings.SDK_SRC), "PATH": os.environ.get("PATH", "/bin")},
            **launch_options(),
        )
        failure = probe.stderr.strip()[-300:] if probe.returncode else ""
    except OSError as error:
        failure = str(error)
    if failure:
        return (
            f"the step account {settings.STUDIO_STEP_USER!r} cannot run {sys.executable} "
            f"with the SDK ({failure}); let it read the Python installation and the studio's code."
        )
    return None


@functools.cache
def sandbox_problem() -> str | None:
    """Why bubblewrap cannot run steps here, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bwrap (Debian package bubblewrap) is not installed."
    try:
        probe = subprocess.run(
            ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--", "true"],
            capture_output=True,
            text=True,
            cwd="/",
            **launch_options(),
        )
        failure = probe.stderr.strip()[:300] if probe.returncode else ""
    except OSError as error:
        failure = str(error)
    return f"bwrap cannot run here: {failure}" if failure else None


def sandboxed(command: list[str], workdir: Path) -> list[str]:
    """``command`` wrapped in bubblewrap when ``STUDIO_STEP_SANDBOX=bwrap``.

    Raises RuntimeError when the sandbox is asked for but cannot run: a step never runs
    outside the sandbox an operator asked for.
    """
    if settings.STUDIO_STEP_SANDBOX != "bwrap":
        return command
    if problem := sandbox_problem():
        raise RuntimeError(f"STUDIO_STEP_SANDBOX=bwrap, but {problem}")
    argv = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
    argv += ["--unshare-uts", "--unshare-cgroup-try", "--proc", "/proc", "--dev", "/dev"]
    for path in SANDBOX_SYSTEM:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in SANDBOX_ETC:
        argv += ["--ro-bind-try", path, path]
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        if not prefix.startswith("/usr/"):
            argv += ["--ro-bind", prefix, prefix]
    argv += ["--ro-bind", str(settings.SDK_SRC), str(settings.SDK_SRC)]
    argv += ["--bind", str(workdir), str(workdir), "--remount-ro", "/"]
    return [*argv, "--chdir", str(workdir / "cwd"), "--", *command]


def link_sources(snapshot: Path, target: Path) -> None:
    """The snapshot's files under ``target`` as hard links to the worker's cache (copies
    across file systems): the step reaches its own sources, never the cache of others."""

    def link(source: str, destination: str) -> None:
        mode = os.stat(source).st_mode
        if mode & 0o044 != 0o044:
            os.chmod(source, 0o644)  # The cache folder is the worker's only; a link is how in.
        try:
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)

    shutil.copytree(snapshot, target, copy_function=link)


def hand_over(workdir: Path) -> None:
    """Give the step account the work folder and what the worker put there (not the linked
    sources, which stay the worker's and read-only): nobody else can enter it."""
    account = step_account()
    if account is not None:
        sources = workdir / "src"
        for root, _dirs, files in os.walk(workdir):
            os.lchown(root, account.uid, account.gid)
            if Path(root) == sources or sources in Path(root).parents:
                continue
            for name in files:
                os.lchown(os.path.join(root, name), account.uid, account.gid)
    os.chmod(workdir, 0o700)


def share_sdk_bytecode() -> None:
    """Compile the SDK for the step account: the server's umask leaves the __pycache__ it
    writes closed to others, and every step would compile the SDK again."""
    for source in sorted((settings.SDK_SRC / "pipelines" / "sdk").glob("*.py")):
        try:
            compiled = Path(py_compile.compile(str(source), doraise=True))
            os.chmod(compiled.parent, 0o755)
            os.chmod(compiled, 0o644)
        except (OSError, py_compile.PyCompileError) as error:
            logger.warning("Steps will compile the SDK each time: %s", error)
            return


def _set_other_bits(path: Path, bits: int) -> None:
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not path.is_symlink() and mode & 0o007 != bits:
            os.chmod(path, (mode & ~0o007) | bits)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("Could not restrict %s: %s", path, error)


def _allow_passage_to(folder: Path) -> None:
    """Give others passage (x, never r) through each folder of ours above ``folder`` that
    lacks it, e.g. the var/ that a test or an operator's STUDIO_VAR_DIR sits in: without it
    the step account cannot reach its own work folder."""
    for parent in reversed(folder.resolve().parents):
        try:
            info = parent.stat()
            if info.st_uid == os.geteuid() and not info.st_mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(info.st_mode) | stat.S_IXOTH)
        except OSError as error:
            logger.warning("Steps may not reach %s: %s", folder, error)


def work_root() -> Path:
    """The folder of step work folders: others may pass through it (to reach their own
    step's folder) but not list it."""
    steps = Path(settings.STUDIO_WORK_DIR) / "steps"
    steps.mkdir(parents=True, exist_ok=True)
    _allow_passage_to(steps)
    for path in (Path(settings.STUDIO_WORK_DIR), steps):
        _set_other_bits(path, 0o001)
    return steps


def secure_server_folders() -> None:
    """Take every permission for others off what the server keeps (database and broker
    files, media, snapshot cache, keys), leaving only passage through the folders that lead
    to the step work folders. Fixes folders an older version or another umask created."""
    var, work = Path(settings.VAR_DIR), Path(settings.STUDIO_WORK_DIR)
    _set_other_bits(var, 0o001 if work.is_relative_to(var) else 0)
    for entry in var.iterdir():
        _set_other_bits(entry, 0o001 if work.is_relative_to(entry) else 0)
    _set_other_bits(Path(settings.MEDIA_ROOT), 0)
    if work.is_dir():
        for entry in work.iterdir():
            _set_other_bits(entry, 0o001 if entry.name == "steps" else 0)
    work_root()
