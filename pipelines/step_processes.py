"""Nothing a step starts outlives it.

The process that runs steps is a child subreaper (``PR_SET_CHILD_SUBREAPER``): a process a
step starts stays below it even after a ``setsid`` and a double fork, because an orphan is
handed to the nearest subreaper instead of to init. When a step ends, however it ends, the
worker kills every process below it that the step started (:func:`kill_descendants`).

A worker killed outright cannot do that; what its steps left running is then an orphan of
init owned by the step account, and the next worker to start on the machine kills it
(:func:`kill_leftovers`). Only worker processes become subreapers (not a process running a
step inline, such as ``seed_demo``), so that orphans of a dead worker do reach init. The
worker processes are also made non-dumpable, so that their ``/proc`` entries (``environ``,
``mem``) are closed even to a process of the same user.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS = 100


def _load_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no subreaper, no parent-death signal
        return None


_prctl = _load_prctl()


def die_with_worker() -> None:
    """Runs in the step's process before exec: a worker killed with SIGKILL takes its step
    down with it, so the retry elsewhere is the only copy still running."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def make_non_dumpable() -> None:
    """Close this process's /proc entries (environ, mem, fds) to other processes of its user
    and forbid ptrace: the worker's environment holds the database and broker secrets."""
    if _prctl is not None:
        _prctl(PR_SET_DUMPABLE, 0)


@functools.cache
def become_step_reaper() -> bool:
    """Make this process (the one that starts steps) a non-dumpable child subreaper, once;
    False where that is not possible (then descendants that left the step's process group
    may survive it)."""
    make_non_dumpable()
    if _prctl is None or _prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
        logger.warning("This worker cannot become a child subreaper (not Linux?).")
        return False
    return True


def children(pid: int) -> set[int]:
    """The live or zombie children of process ``pid`` (all its threads')."""
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            listed = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.update(int(child) for child in listed.split())
    return found


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def kill_descendants(spared: set[int]) -> int:
    """SIGKILL every process below this one except ``spared`` (direct children that are not
    the step's: a beat or pool process) and those below them; reap the ones that became our
    children. Returns how many were killed."""
    me, killed = os.getpid(), set()
    for _ in range(KILL_ROUNDS):
        doomed = set()
        for child in children(me) - spared:
            doomed |= {child} | descendants(child)
        if not doomed:
            break
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed |= doomed
        for pid in children(me) - spared:
            _reap(pid)
    return len(killed)


def _reap(pid: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done or time.monotonic() > deadline:
            return
        time.sleep(0.005)


def _stat(pid: int) -> tuple[int, int] | None:
    """``(uid, parent pid)`` of a live process, or None when it is gone or a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields.get("State", "").strip().startswith(("Z", "X")):
        return None
    try:
        return int(fields["Uid"].split()[0]), int(fields["PPid"])
    except (KeyError, ValueError, IndexError):
        return None


def kill_leftovers(uid: int) -> int:
    """Kill what steps of a dead worker left: processes of the step account ``uid`` whose
    first ancestor not owned by it is init (a live step's is its worker, a subreaper).
    Returns how many were killed."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    killed = 0
    for pid, (owner, _parent) in stats.items():
        if owner != uid:
            continue
        ancestor = pid
        while ancestor in stats and stats[ancestor][0] == uid:
            ancestor = stats[ancestor][1]
        if ancestor in (0, 1):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    if killed:
        logger.warning("Killed %d process(es) that steps of a stopped worker left running.", killed)
    return killed
