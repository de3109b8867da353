"""Which steps of a run start when: readiness counts, reuse, step claims and completions.

Each step run keeps ``waiting_on``: how many of the steps it waits for have not Finished. A
step completion is one transaction that touches only its own row and the rows of the steps
waiting for it: it records how the step ended, counts those steps down with one UPDATE
(which also locks them) and starts the ones that reached 0, reused from an earlier identical
step or Queued; a step that failed or was canceled cancels the steps that can no longer run.
Its cost does not grow with the run, and parallel completions of one run wait for each other
only on a step they both count down, for the rest of a short transaction. The run row is
locked only to end the run: after each completion's commit, a run with no step left to run
ends (two completions that commit together may each still see the other's step running;
the later commit's check sees both). On SQLite the IMMEDIATE transactions serialise writers.

The dispatcher's passes over a whole run (``advance_run``, ``engine.dispatch_run``) lock the
run row, then its step rows (``schedule_steps``): they are rare, and they recount
``waiting_on`` from the steps' states. A worker's claim of a step and its log flushes are
single conditional UPDATEs of the step row. Messages to workers are sent after the commit; a
step that could not be sent goes back to NotStarted and the periodic dispatcher wakes its run
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core.sql import fetch_all, table
from pipelines.broker import RUN_STEP_TASK, send_tasks
from pipelines.graph import GraphPlan, render_argv
from pipelines.models import PipelineRun, RunStatus, StepRun

PENDING = (RunStatus.NOT_STARTED, RunStatus.QUEUED)
# A step in one of these states has a message in flight or a process running.
ACTIVE_STEP = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELING)
ACTIVE = (RunStatus.NOT_STARTED, *ACTIVE_STEP)
RUN_ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELING)
# A step whose worker was lost runs at most this many times in all.
MAX_ATTEMPTS = 2
# A resubmit of a run that ended so reruns it from its failed step (see keeps_finished_steps).
RERUNNABLE = (RunStatus.FAILED, RunStatus.CANCELED)
# What the scheduler reads of a run besides its graph (which it reads through run_plan).
RUN_FIELDS = (
    "workspace",
    "status",
    "parameters",
    "continue_on_step_failure",
    "run_source",
    "resubmitted_from",
    "created_at",
    "started_at",
)
# Messages sent at most for the steps of one run that become Queued together (a submit's first
# steps, a fan-out): a worker that ends a step goes on with another Queued step of the same run
# and compute target itself (``_claim_next_queued``), so a run of thousands of independent
# steps costs this many broker messages, not one per step. Beat's resend of long-Queued steps
# (engine.resend_stale_steps) hands the rest to more workers as they free up.
RUN_MESSAGES = 100
# Names or fingerprints per statement (SQLite takes at most 32,766 parameters).
CHUNK = 500
# Runs whose graph index one process keeps (a 10,000-step graph is read once, not per step).
PLAN_CACHE_SIZE = 8
# A completion that lost a deadlock (two completions counting down shared steps in another
# order) is rolled back whole and tried again.
TRANSIENT_SQLSTATES = {"40P01", "40001"}
COMPLETION_TRIES = 5

_plans: dict[tuple, GraphPlan] = {}
_plans_lock = threading.Lock()


def run_plan(run: PipelineRun) -> GraphPlan:
    """The index of ``run``'s graph, built once per process (a run's graph never changes);
    the graph is read from the database when ``run`` was loaded without it."""
    key = (run.pk, run.created_at)
    with _plans_lock:
        plan = _plans.pop(key, None)
        if plan is not None:
            _plans[key] = plan  # the most recently used last
            return plan
    plan = GraphPlan(run.graph_document())
    with _plans_lock:
        _plans[key] = plan
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
    return plan


def _run_of(step: StepRun) -> PipelineRun:
    """The step's run as loaded with the step (without its graph), else what the scheduler
    reads of it."""
    if StepRun.run.is_cached(step):
        return step.run
    return PipelineRun.objects.only(*RUN_FIELDS).get(pk=step.run_id)


def step_fingerprint(run: PipelineRun, spec: dict, input_digests: dict) -> str:
    """What identifies a step's work: snapshot, script, argv with the run's parameter
    values, the digests of its inputs (``input_digests``: data name → digest) and the names
    of its outputs."""
    payload = {
        "snapshot": spec["snapshot"],
        "script": spec["script_name"],
        "argv": render_argv(spec["arguments"], run.parameters),
        "inputs": {d: input_digests.get(d) for d in spec["inputs"]},
        "outputs": spec["outputs"],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _reusable(
    run: PipelineRun, fingerprints: list[str], in_run: int | None = None
) -> dict[str, StepRun]:
    """For each of ``fingerprints`` that has one, the latest Finished step of the workspace
    (of run ``in_run`` if given) with it, not of ``run`` itself; loaded with only what
    ``_copy_reused`` reads: the source's log may be megabytes. Hand-written SQL, one
    statement per CHUNK fingerprints, as this is on every submit (see :mod:`core.sql`)."""
    steps = table(StepRun, "run", "reused_from", "outputs", "argv", "exit_code", "fingerprint")
    runs = table(PipelineRun)
    # A run not yet written has no steps to exclude.
    not_this_run = "AND s.run_id <> %s " if run.pk is not None else ""
    only_run = "AND s.run_id = %s " if in_run is not None else ""
    found: dict[str, StepRun] = {}
    unique = list(dict.fromkeys(fingerprints))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        rows = fetch_all(
            f"SELECT {steps.columns('t')} FROM (SELECT {steps.columns('s')}, ROW_NUMBER() "
            "OVER (PARTITION BY s.fingerprint ORDER BY s.finished_at DESC) AS latest "
            f"FROM {steps.name} s JOIN {runs.name} r ON r.id = s.run_id "
            f"WHERE r.workspace_id = %s AND s.fingerprint IN ({marks}) "
            f"AND s.status = %s {not_this_run}{only_run}) t WHERE t.latest = 1",
            [run.workspace_id, *chunk, RunStatus.FINISHED]
            + ([run.pk] if run.pk is not None else [])
            + ([in_run] if in_run is not None else []),
        )
        for row in rows:
            source = steps.load(row)
            found[source.fingerprint] = source
    return found


def keeps_finished_steps(run: PipelineRun) -> int | None:
    """The id of the Failed or Canceled run that ``run`` reruns, else None.

    Rerunning from the failed step keeps every step that run finished whose work (script,
    arguments with the parameters, inputs) did not change, even a step that does not allow
    reuse: the person asked to continue that run, not to start it over.
    """
    if run.run_source != PipelineRun.Source.RESUBMIT or run.resubmitted_from_id is None:
        return None
    source = PipelineRun.objects.filter(pk=run.resubmitted_from_id, status__in=RERUNNABLE)
    return run.resubmitted_from_id if source.exists() else None


def _reuse_sources(
    run: PipelineRun, plan: GraphPlan, wave: list[StepRun], kept_run: int | None
) -> dict[str, StepRun]:
    """By step name, the earlier step each step of ``wave`` reuses (at most two lookups)."""
    sources: dict[str, StepRun] = {}
    anywhere = [s for s in wave if plan.specs[s.name]["allow_reuse"]]
    kept = [s for s in wave if not plan.specs[s.name]["allow_reuse"] and kept_run is not None]
    for group, in_run in ((anywhere, None), (kept, kept_run)):
        if group:
            found = _reusable(run, [s.fingerprint for s in group], in_run=in_run)
            sources.update({s.name: found[s.fingerprint] for s in group if s.fingerprint in found})
    return sources


def _copy_reused(step: StepRun, source: StepRun, now) -> None:
    step.status, step.reused_from_id = RunStatus.FINISHED, source.reused_from_id or source.pk
    step.outputs, step.argv, step.exit_code = source.outputs, source.argv, source.exit_code
    step.log = f"Reused the outputs of step run {step.reused_from_id} (run {source.run_id}).\n"
    step.started_at = step.finished_at = now


def _save_reused(step: StepRun) -> None:
    step.save(
        update_fields=[
            "status",
            "reused_from",
            "outputs",
            "argv",
            "exit_code",
            "log",
            "started_at",
            "finished_at",
            "fingerprint",
        ]
    )


def _start_wave(
    run: PipelineRun,
    plan: GraphPlan,
    wave: list[StepRun],
    outputs_of: Callable[[str], dict],
    kept_run: int | None,
    now,
) -> tuple[list[StepRun], list[StepRun]]:
    """Start the steps of ``wave``, whose upstream steps all Finished (``outputs_of(name)``
    gives such a step's outputs): each is reused from an earlier identical step, or Queued.
    The objects are changed, not saved; returns ``(reused, queued)``."""
    for step in wave:
        spec = plan.specs[step.name]
        digests = {d: outputs_of(plan.writers[d]).get(d, {}).get("digest") for d in spec["inputs"]}
        step.fingerprint = step_fingerprint(run, spec, digests)
    sources = _reuse_sources(run, plan, wave, kept_run)
    reused, queued = [], []
    for step in wave:
        source = sources.get(step.name)
        if source is not None:
            _copy_reused(step, source, now)
            reused.append(step)
        else:
            step.status, step.queued_at = RunStatus.QUEUED, now
            queued.append(step)
    return reused, queued


def _start_in_memory(
    run: PipelineRun,
    plan: GraphPlan,
    steps: dict[str, StepRun],
    ready: list[StepRun],
    kept_run: int | None,
    now,
) -> tuple[list[StepRun], list[StepRun]]:
    """Start ``ready`` and, wave after wave, the steps that reused ones make ready, on the
    objects of ``steps`` (every step of the run by name, ``waiting_on`` counted); returns
    ``(reused, queued)``, changed and not saved."""
    all_reused, all_queued = [], []
    wave = sorted(ready, key=lambda s: s.position)
    while wave:
        reused, queued = _start_wave(
            run, plan, wave, lambda name: steps[name].outputs, kept_run, now
        )
        all_reused += reused
        all_queued += queued
        wave = []
        for step in reused:
            for name in plan.downstream[step.name]:
                after = steps[name]
                after.waiting_on -= 1
                if after.waiting_on == 0 and after.status == RunStatus.NOT_STARTED:
                    wave.append(after)
        wave.sort(key=lambda s: s.position)
    return all_reused, all_queued


def plan_new_run(
    run: PipelineRun, steps: list[StepRun], plan: GraphPlan | None = None
) -> list[StepRun]:
    """Decide the first steps of a run whose rows are not written yet; returns the steps
    made Queued, to be sent after the commit.

    Each step counts the steps it waits for; those that wait for nothing (or only for
    steps reused here) are reused from an earlier identical step (Finished) or Queued; the
    run is Queued, or Finished when every step was reused. The objects are only changed,
    not saved: the submit transaction inserts them as decided, so nothing is left to do
    after the commit but the broker publish. One reuse lookup per wave of ready steps, not
    per step.
    """
    plan = plan or GraphPlan(run.graph)
    for step in steps:
        step.waiting_on = len(plan.upstream[step.name])
    now = timezone.now()
    ready = [step for step in steps if step.waiting_on == 0]
    kept_run = keeps_finished_steps(run)
    by_name = {step.name: step for step in steps}
    _reused, to_send = _start_in_memory(run, plan, by_name, ready, kept_run, now)
    run.status, run.dispatched_at = RunStatus.QUEUED, now
    if not to_send:
        run.status, run.started_at, run.finished_at = RunStatus.FINISHED, now, now
    return to_send


def _partial_step(values: dict) -> StepRun:
    """A StepRun loaded with only ``values`` (attribute name → value), the others deferred."""
    fields = [f.attname for f in StepRun._meta.concrete_fields if f.attname in values]
    return StepRun.from_db(connection.alias, fields, [values[name] for name in fields])


def _count_down(run_id: int, counts: dict[str, int]) -> list[StepRun]:
    """Count down ``waiting_on`` of the run's steps named in ``counts`` (by how many of the
    steps each waits for just Finished): one UPDATE per amount and CHUNK names, which also
    locks those rows to the end of the transaction. Returns the steps that reached 0 while
    NotStarted, ready to start (loaded with what starting them reads), in graph order."""
    steps = table(StepRun)
    quote = connection.ops.quote_name
    waiting = quote("waiting_on")
    returned = ("id", "name", "status", "waiting_on", "attempts", "compute_target", "position")
    by_amount: dict[int, list[str]] = defaultdict(list)
    for name, amount in counts.items():
        by_amount[amount].append(name)
    ready = []
    for amount, names in sorted(by_amount.items()):
        names.sort()  # every transaction locks shared rows in one order
        for start in range(0, len(names), CHUNK):
            chunk = names[start : start + CHUNK]
            rows = fetch_all(
                f"UPDATE {steps.name} SET {waiting} = {waiting} - %s "
                f"WHERE {quote('run_id')} = %s AND {quote('name')} IN "
                f"({', '.join(['%s'] * len(chunk))}) "
                f"RETURNING {', '.join(quote(column) for column in returned)}",
                [amount, run_id, *chunk],
            )
            for row in rows:
                if row[3] == 0 and row[2] == RunStatus.NOT_STARTED:
                    values = dict(zip(returned, row, strict=True))
                    ready.append(_partial_step({"run_id": run_id, **values}))
    ready.sort(key=lambda s: s.position)
    return ready


def _release(run: PipelineRun, plan: GraphPlan, finished: dict[str, dict], now) -> list[StepRun]:
    """The steps ``finished`` (name → outputs) just Finished: count down the steps waiting
    for them and start those that became ready; reused ones release theirs in turn. Returns
    the steps decided Queued, not saved yet."""
    all_queued: list[StepRun] = []
    kept_run: int | None = None
    looked_up = False
    while finished:
        counts = Counter(name for done in finished for name in plan.downstream[done])
        if not counts:
            break
        wave = _count_down(run.pk, counts)
        if not wave:
            break
        if not looked_up:
            kept_run, looked_up = keeps_finished_steps(run), True
        outputs = dict(finished)
        needed = {p for step in wave for p in plan.producers(step.name)} - outputs.keys()
        if needed:
            outputs.update(
                StepRun.objects.filter(run_id=run.pk, name__in=needed).values_list(
                    "name", "outputs"
                )
            )
        reused, queued = _start_wave(
            run, plan, wave, lambda name, found=outputs: found.get(name) or {}, kept_run, now
        )
        for step in reused:
            _save_reused(step)
        all_queued += queued
        finished = {step.name: step.outputs for step in reused}
    return all_queued


def _save_queued(steps: list[StepRun]) -> None:
    if len(steps) == 1:
        step = steps[0]
        StepRun.objects.filter(pk=step.pk).update(
            status=step.status, queued_at=step.queued_at, fingerprint=step.fingerprint
        )
    elif steps:
        StepRun.objects.bulk_update(steps, ["status", "queued_at", "fingerprint"], batch_size=CHUNK)


def _cancel_pending(run_id: int, reason: str, now, names: list[str] | None = None) -> None:
    """End Canceled, with ``reason``, the run's steps not started yet (of ``names`` only,
    when given)."""
    pending = StepRun.objects.filter(run_id=run_id, status__in=PENDING)
    values = {"status": RunStatus.CANCELED, "failure_reason": reason, "finished_at": now}
    if names is None:
        pending.update(**values)
        return
    names = sorted(names)
    for start in range(0, len(names), CHUNK):
        pending.filter(name__in=names[start : start + CHUNK]).update(**values)


def _stop_after(run: PipelineRun, plan: GraphPlan, name: str, status: str, now) -> None:
    """Step ``name`` ended ``status`` (Failed or Canceled): every step that waits for it,
    directly or not, can no longer run and ends Canceled naming the step it waited for; when
    it failed and the run does not continue on step failure, so does every step of the run
    not started yet."""
    reached: set[str] = set()
    todo = [name]
    while todo:
        for after in plan.downstream[todo.pop()]:
            if after not in reached:
                reached.add(after)
                todo.append(after)
    by_reason: dict[str, list[str]] = defaultdict(list)
    for after in reached:
        first = min(n for n in plan.upstream[after] if n == name or n in reached)
        how = status.lower() if first == name else RunStatus.CANCELED.lower()
        by_reason[f"Not run: upstream step {first!r} {how}."].append(after)
    for reason, names in sorted(by_reason.items()):
        _cancel_pending(run.pk, reason, now, names)
    if status == RunStatus.FAILED and not run.continue_on_step_failure:
        _cancel_pending(run.pk, f"Not run: step {name!r} failed.", now)


def end_run_if_done(run_id: int) -> bool:
    """End the run when none of its steps is left to run: Failed when a step failed,
    Canceled when one was canceled (or the run was being canceled), else Finished. Returns
    False while a step is left. Called after a completion's commit (it locks the run row
    only when the run ends) or with the run row already locked by the caller."""
    if StepRun.objects.filter(run_id=run_id, status__in=ACTIVE).exists():
        return False
    with transaction.atomic():
        run = (
            PipelineRun.objects.select_for_update()
            .only("status", "error", "started_at", "finished_at")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status not in RUN_ACTIVE:
            return True
        steps = StepRun.objects.filter(run_id=run_id)
        failed = steps.filter(status=RunStatus.FAILED).order_by("position").first()
        if failed is not None:
            run.status = RunStatus.FAILED
            run.error = f"Step {failed.name!r} failed: {failed.failure_reason}"
        elif run.status == RunStatus.CANCELING or steps.filter(status=RunStatus.CANCELED).exists():
            run.status = RunStatus.CANCELED
        else:
            run.status = RunStatus.FINISHED
        run.finished_at = timezone.now()
        run.started_at = run.started_at or run.finished_at  # every step was reused
        run.save(update_fields=["status", "error", "started_at", "finished_at"])
    return True


def advance_run(run_id: int) -> None:
    """Start every step whose upstream steps finished, reuse what can be reused, cancel
    what can no longer run, and end the run when no step is left to run."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in RUN_ACTIVE:
            return
        to_send = schedule_steps(run)
        transaction.on_commit(lambda: send_steps(to_send, RUN_MESSAGES))


def _reason_not_to_run(run, step, steps, upstream, failed: list[str]) -> str:
    if run.status == RunStatus.CANCELING:
        return "Canceled before it started."
    for name in sorted(upstream[step.name]):
        if steps[name].status in (RunStatus.FAILED, RunStatus.CANCELED):
            return f"Not run: upstream step {name!r} {steps[name].status.lower()}."
    if failed and not run.continue_on_step_failure:
        return f"Not run: step {failed[0]!r} failed."
    return ""


SAVED_BY_PASS = (
    "status",
    "failure_reason",
    "finished_at",
    "waiting_on",
    "queued_at",
    "fingerprint",
)


def schedule_steps(run: PipelineRun) -> list[StepRun]:
    """The pass of ``advance_run`` over a whole run whose row the caller has locked: cancel
    the steps that can no longer run, count again what each step waits for, start every
    ready step, and end the run when no step is left to run. Returns the steps it marked
    Queued, to be sent after the commit."""
    plan = run_plan(run)
    steps = {s.name: s for s in run.steps.select_for_update().defer("log").order_by("position")}
    before = {name: tuple(getattr(s, f) for f in SAVED_BY_PASS) for name, s in steps.items()}
    now = timezone.now()
    failed = [s.name for s in steps.values() if s.status == RunStatus.FAILED]
    # Positions follow the graph's order (upstream first): one pass sees each cancellation.
    for step in steps.values():
        if step.status in PENDING:
            reason = _reason_not_to_run(run, step, steps, plan.upstream, failed)
            if reason:
                step.status, step.failure_reason, step.finished_at = (
                    RunStatus.CANCELED,
                    reason,
                    now,
                )
    for step in steps.values():
        step.waiting_on = sum(
            1 for name in plan.upstream[step.name] if steps[name].status != RunStatus.FINISHED
        )
    ready = [s for s in steps.values() if s.status == RunStatus.NOT_STARTED and not s.waiting_on]
    kept_run = keeps_finished_steps(run) if ready else None
    reused, queued = _start_in_memory(run, plan, steps, ready, kept_run, now)
    for step in reused:
        _save_reused(step)
        before[step.name] = tuple(getattr(step, f) for f in SAVED_BY_PASS)
    changed = [
        s
        for name, s in steps.items()
        if tuple(getattr(s, f) for f in SAVED_BY_PASS) != before[name]
    ]
    if changed:
        StepRun.objects.bulk_update(changed, SAVED_BY_PASS, batch_size=CHUNK)
    end_run_if_done(run.pk)
    return queued


def send_steps(steps: list[StepRun], window: int | None = None) -> int:
    """Send Queued steps to their compute target's queue (the first ``window`` of them
    only, when given: the others stay Queued for the workers to take up, see RUN_MESSAGES);
    unsent ones go back to NotStarted (the periodic dispatcher wakes their run later), all of
    them when none could be sent. Returns how many were sent."""
    sending = steps if window is None else steps[:window]
    sent = send_tasks(
        RUN_STEP_TASK, [([step.pk, step.attempts + 1], step.compute_target) for step in sending]
    )
    unsent = [step.pk for step in (sending[sent:] if sent else steps)]
    for start in range(0, len(unsent), CHUNK):
        StepRun.objects.filter(
            pk__in=unsent[start : start + CHUNK], status=RunStatus.QUEUED
        ).update(status=RunStatus.NOT_STARTED, queued_at=None)
    return sent


def _send_next_queued(step: StepRun) -> None:
    """Send a message for the last Queued step of ``step``'s run and compute target (if any):
    the work this worker stops going on with continues through the broker."""
    following = (
        StepRun.objects.filter(
            run_id=step.run_id, status=RunStatus.QUEUED, compute_target=step.compute_target
        )
        .order_by("-position")
        .only("pk", "attempts", "compute_target")
        .first()
    )
    if following is not None:
        send_tasks(
            RUN_STEP_TASK, [([following.pk, following.attempts + 1], following.compute_target)]
        )


def _claim_next_queued(step: StepRun, now) -> StepRun | None:
    """Another Queued step of ``step``'s run and compute target, claimed for ``step``'s
    worker (Running, its attempt counted) to run next without a broker round trip; None
    when there is none. It is taken from the end of the run (the last in graph order), as
    the messages went to its first steps; a message for a step taken here does nothing when
    it arrives. Concurrent claimers skip each other's row on PostgreSQL (SKIP LOCKED)."""
    steps = table(StepRun)
    quote = connection.ops.quote_name
    returned = ("id", "name", "status", "waiting_on", "attempts", "compute_target", "position")
    skip_locked = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    rows = fetch_all(
        f"UPDATE {steps.name} SET {quote('status')} = %s, {quote('attempts')} = "
        f"{quote('attempts')} + 1, {quote('worker')} = %s, {quote('heartbeat_at')} = %s, "
        f"{quote('started_at')} = %s WHERE {quote('id')} = (SELECT {quote('id')} FROM "
        f"{steps.name} WHERE {quote('run_id')} = %s AND {quote('status')} = %s AND "
        f"{quote('compute_target')} = %s ORDER BY {quote('position')} DESC LIMIT 1{skip_locked}) "
        f"AND {quote('status')} = %s "
        f"RETURNING {', '.join(quote(column) for column in returned)}",
        [
            RunStatus.RUNNING,
            step.worker,
            now,
            now,
            step.run_id,
            RunStatus.QUEUED,
            step.compute_target,
            RunStatus.QUEUED,
        ],
    )
    if not rows:
        return None
    values = dict(zip(returned, rows[0], strict=True))
    return _partial_step(
        {"run_id": step.run_id, "worker": step.worker, "heartbeat_at": now, "started_at": now}
        | values
    )


def claim_step(step: StepRun, attempt: int, worker: str, argv: list[str]) -> bool:
    """Make attempt ``attempt`` of a Queued step Running on ``worker`` (one conditional
    UPDATE, so two workers cannot both win); False when the step is not Queued any more or
    this attempt was already claimed (a redelivered message)."""
    now = timezone.now()
    fields = {
        "status": RunStatus.RUNNING,
        "attempts": attempt,
        "worker": worker,
        "argv": argv,
        "heartbeat_at": now,
        "started_at": now,
        "exit_code": None,
        "failure_reason": "",
    }
    claimed = StepRun.objects.filter(
        pk=step.pk, status=RunStatus.QUEUED, attempts__lt=attempt
    ).update(**fields)
    if not claimed:
        return False
    for name, value in fields.items():
        setattr(step, name, value)
    # The run is Running once its first step runs (a run seen Running already stays so).
    if not StepRun.run.is_cached(step) or step.run.status == RunStatus.QUEUED:
        PipelineRun.objects.filter(pk=step.run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now
        )
    return True


def complete_step(
    step: StepRun,
    attempt: int,
    status: str,
    *,
    exit_code=None,
    reason="",
    outputs=None,
    go_on: bool = True,
) -> StepRun | None:
    """Record how attempt ``attempt`` of a step ended and, in the same transaction, start
    the steps waiting for it that became ready (or cancel those that can no longer run);
    after the commit, end the run if no step is left to run.

    A step canceled while it ran ends Canceled whatever the process did. One newly ready
    step for the same compute target is returned already claimed for this worker (Running,
    its attempt counted, so the reaper covers it), to run here without a broker round trip;
    the others are sent. Else another Queued step of the run and compute target is claimed
    for this worker the same way. None when there is no such step, or when the attempt no
    longer owns the step (the reaper gave it to another worker). Without ``go_on`` (the
    worker has gone on long enough) nothing is claimed: every step that became ready is
    sent, or a message for the next Queued step of the run keeps it going.
    """
    for tries in range(1, COMPLETION_TRIES + 1):
        try:
            ended, here = _complete_step(step, attempt, status, exit_code, reason, outputs, go_on)
            break
        except OperationalError as error:
            transient = getattr(error.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES
            if not transient or tries == COMPLETION_TRIES or connection.in_atomic_block:
                raise
            time.sleep(0.02 * tries)
    if ended:
        end_run_if_done(step.run_id)
    return here


def _complete_step(step, attempt, status, exit_code, reason, outputs, go_on):
    """``(ended, next step here)`` of one try of ``complete_step``."""
    now = timezone.now()
    ended = {
        "exit_code": exit_code,
        "outputs": outputs or {},
        "finished_at": now,
        "heartbeat_at": now,
    }
    run = _run_of(step)
    plan = run_plan(run)
    # A step that finishes with no step waiting for it changes only its own row: one
    # statement, no transaction (a cancel seen instead changes nothing else either).
    alone = status == RunStatus.FINISHED and not plan.downstream[step.name]
    with contextlib.nullcontext() if alone else transaction.atomic():
        mine = StepRun.objects.filter(pk=step.pk, attempts=attempt)
        if mine.filter(status=RunStatus.RUNNING).update(
            status=status, failure_reason=reason, **ended
        ):
            ended_as = status
        elif mine.filter(status=RunStatus.CANCELING).update(
            status=RunStatus.CANCELED, failure_reason="Canceled while running.", **ended
        ):
            ended_as = RunStatus.CANCELED
        else:
            return False, None
        to_send: list[StepRun] = []
        if ended_as == RunStatus.FINISHED:
            to_send = _release(run, plan, {step.name: outputs or {}}, now)
        else:
            _stop_after(run, plan, step.name, ended_as, now)
        here = None
        if go_on:
            here = next((s for s in to_send if s.compute_target == step.compute_target), None)
        if here is not None:
            to_send.remove(here)
            here.status, here.attempts, here.worker = (
                RunStatus.RUNNING,
                here.attempts + 1,
                step.worker,
            )
            here.heartbeat_at = here.started_at = now
            StepRun.objects.filter(pk=here.pk).update(
                status=here.status,
                attempts=here.attempts,
                worker=here.worker,
                heartbeat_at=now,
                started_at=now,
                queued_at=now,
                fingerprint=here.fingerprint,
            )
        _save_queued(to_send)
        if to_send:
            transaction.on_commit(lambda: send_steps(to_send, RUN_MESSAGES))
    if here is None and ended_as != RunStatus.CANCELED:
        if go_on:
            here = _claim_next_queued(step, now)
        elif not to_send:
            _send_next_queued(step)
    return True, here


def reap_lost_steps() -> int:
    """Retry once, or fail with "worker lost", every step whose worker stopped beating.

    Runs on the beat schedule. Returns how many steps it handled.
    """
    timeout = settings.STUDIO_HEARTBEAT_TIMEOUT
    cutoff = timezone.now() - timedelta(seconds=timeout)
    lost = StepRun.objects.filter(
        status__in=[RunStatus.RUNNING, RunStatus.CANCELING], heartbeat_at__lt=cutoff
    ).values_list("pk", "run_id")
    handled = 0
    for step_id, run_id in lost:
        with transaction.atomic():
            step = StepRun.objects.select_for_update().defer("log").get(pk=step_id)
            if step.status not in (RunStatus.RUNNING, RunStatus.CANCELING) or (
                step.heartbeat_at and step.heartbeat_at >= cutoff
            ):
                continue
            now = timezone.now()
            note = f"\n[studio] worker {step.worker or '?'} lost: no heartbeat for {timeout:g} s"
            if step.status == RunStatus.CANCELING:
                ended = (RunStatus.CANCELED, "Canceled; its worker was lost.")
            elif step.attempts < MAX_ATTEMPTS:
                ended = None
                note += "; retrying on another worker"
            else:
                ended = (RunStatus.FAILED, "worker lost")
            if ended is None:
                step.status, step.queued_at = RunStatus.QUEUED, now
                step.save(update_fields=["status", "queued_at"])
                transaction.on_commit(lambda steps=[step]: send_steps(steps))
            else:
                step.status, step.failure_reason, step.finished_at = (*ended, now)
                step.save(update_fields=["status", "failure_reason", "finished_at"])
                run = PipelineRun.objects.only(*RUN_FIELDS).get(pk=run_id)
                _stop_after(run, run_plan(run), step.name, step.status, now)
            StepRun.objects.filter(pk=step_id).update(log=Concat(F("log"), Value(note + "\n")))
        end_run_if_done(run_id)
        handled += 1
    return handled
