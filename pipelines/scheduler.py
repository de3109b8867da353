"""Which steps of a run start when: the DAG walk, reuse, step claims and completions.

Every decision about a run is taken in a transaction that first locks the run row, then
its step rows (always in that order, so two completions of one run serialise instead of
racing; on SQLite the IMMEDIATE transactions serialise writers anyway). A worker's claim of
a step and its log flushes are single conditional UPDATEs of the step row. Messages to
workers are sent after the commit; a step that could not be sent goes back to NotStarted
and the periodic dispatcher wakes its run again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core.sql import fetch_one, table
from pipelines.broker import RUN_STEP_TASK, send_task
from pipelines.graph import render_argv, upstream_steps
from pipelines.models import PipelineRun, RunStatus, StepRun

PENDING = (RunStatus.NOT_STARTED, RunStatus.QUEUED)
# A step in one of these states has a message in flight or a process running.
ACTIVE_STEP = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELING)
ACTIVE = (RunStatus.NOT_STARTED, *ACTIVE_STEP)
# A step whose worker was lost runs at most this many times in all.
MAX_ATTEMPTS = 2
# A resubmit of a run that ended so reruns it from its failed step (see keeps_finished_steps).
RERUNNABLE = (RunStatus.FAILED, RunStatus.CANCELED)


def step_fingerprint(run: PipelineRun, spec: dict, steps: dict[str, StepRun]) -> str:
    """What identifies a step's work: snapshot, script, argv with the run's parameter
    values, the digests of its inputs and the names of its outputs."""
    writers = {data: s["name"] for s in run.graph["steps"] for data in s["outputs"]}
    inputs = {d: steps[writers[d]].outputs.get(d, {}).get("digest") for d in spec["inputs"]}
    payload = {
        "snapshot": spec["snapshot"],
        "script": spec["script_name"],
        "argv": render_argv(spec["arguments"], run.parameters),
        "inputs": inputs,
        "outputs": spec["outputs"],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _reusable(run: PipelineRun, step: StepRun, in_run: int | None = None) -> StepRun | None:
    """The latest Finished step of the workspace (of run ``in_run`` if given) with ``step``'s
    fingerprint (not of ``run`` itself), loaded with only what ``_copy_reused`` reads: the
    source's log may be megabytes. Hand-written SQL, as this is on every submit (see
    :mod:`core.sql`)."""
    steps = table(StepRun, "run", "reused_from", "outputs", "argv", "exit_code")
    runs = table(PipelineRun)
    # A run not yet written has no steps to exclude.
    not_this_run = "AND s.run_id <> %s " if run.pk is not None else ""
    only_run = "AND s.run_id = %s " if in_run is not None else ""
    row = fetch_one(
        f"SELECT {steps.columns('s')} FROM {steps.name} s JOIN {runs.name} r ON r.id = s.run_id "
        f"WHERE r.workspace_id = %s AND s.fingerprint = %s AND s.status = %s {not_this_run}"
        f"{only_run}ORDER BY s.finished_at DESC LIMIT 1",
        [run.workspace_id, step.fingerprint, RunStatus.FINISHED]
        + ([run.pk] if run.pk is not None else [])
        + ([in_run] if in_run is not None else []),
    )
    return steps.load(row) if row is not None else None


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


def _reuse_source(run, spec: dict, step: StepRun, kept_run: int | None) -> StepRun | None:
    if spec["allow_reuse"]:
        return _reusable(run, step)
    if kept_run is not None:
        return _reusable(run, step, in_run=kept_run)
    return None


def _reason_not_to_run(run, step, steps, upstream) -> str:
    if run.status == RunStatus.CANCELING:
        return "Canceled before it started."
    for name in sorted(upstream[step.name]):
        if steps[name].status in (RunStatus.FAILED, RunStatus.CANCELED):
            return f"Not run: upstream step {name!r} {steps[name].status.lower()}."
    failed = [s.name for s in steps.values() if s.status == RunStatus.FAILED]
    if failed and not run.continue_on_step_failure:
        return f"Not run: step {failed[0]!r} failed."
    return ""


def _end_step(step: StepRun, status: str, reason: str = "") -> None:
    step.status, step.failure_reason, step.finished_at = status, reason, timezone.now()
    step.save(update_fields=["status", "failure_reason", "finished_at"])


def _copy_reused(step: StepRun, source: StepRun, now) -> None:
    step.status, step.reused_from_id = RunStatus.FINISHED, source.reused_from_id or source.pk
    step.outputs, step.argv, step.exit_code = source.outputs, source.argv, source.exit_code
    step.log = f"Reused the outputs of step run {step.reused_from_id} (run {source.run_id}).\n"
    step.started_at = step.finished_at = now


def _reuse(step: StepRun, source: StepRun) -> None:
    _copy_reused(step, source, timezone.now())
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


def _finish_if_done(run: PipelineRun, steps: dict[str, StepRun]) -> None:
    if any(s.status in ACTIVE for s in steps.values()):
        return
    failed = [s for s in steps.values() if s.status == RunStatus.FAILED]
    if failed:
        run.status = RunStatus.FAILED
        run.error = f"Step {failed[0].name!r} failed: {failed[0].failure_reason}"
    elif run.status == RunStatus.CANCELING or any(
        s.status == RunStatus.CANCELED for s in steps.values()
    ):
        run.status = RunStatus.CANCELED
    else:
        run.status = RunStatus.FINISHED
    run.finished_at = timezone.now()
    run.started_at = run.started_at or run.finished_at  # every step was reused
    run.save(update_fields=["status", "error", "started_at", "finished_at"])


def plan_new_run(run: PipelineRun, steps: list[StepRun]) -> list[StepRun]:
    """Decide the first steps of a run whose rows are not written yet; returns the steps
    made Queued, to be sent after the commit.

    Steps whose upstream steps are done are reused from an earlier identical step
    (Finished) or Queued; the run is Queued, or Finished when every step was reused. The
    objects are only changed, not saved: the submit transaction inserts them as decided,
    so nothing is left to do after the commit but the broker publish. The same decisions
    as ``schedule_steps`` for a run where nothing has failed or been canceled yet.
    """
    by_name = {step.name: step for step in steps}
    specs = {spec["name"]: spec for spec in run.graph["steps"]}
    upstream = upstream_steps(run.graph)
    kept_run = keeps_finished_steps(run)
    now = timezone.now()
    to_send: list[StepRun] = []
    # Positions follow the graph's order (upstream first), so one pass sees every step
    # that a reused upstream step makes ready.
    for step in sorted(steps, key=lambda s: s.position):
        if any(by_name[name].status != RunStatus.FINISHED for name in upstream[step.name]):
            continue
        step.fingerprint = step_fingerprint(run, specs[step.name], by_name)
        source = _reuse_source(run, specs[step.name], step, kept_run)
        if source is not None:
            _copy_reused(step, source, now)
        else:
            step.status, step.queued_at = RunStatus.QUEUED, now
            to_send.append(step)
    run.status, run.dispatched_at = RunStatus.QUEUED, now
    if not to_send:
        run.status, run.started_at, run.finished_at = RunStatus.FINISHED, now, now
    return to_send


def advance_run(run_id: int) -> None:
    """Start every step whose upstream steps finished, reuse what can be reused, cancel
    what can no longer run, and end the run when no step is left to run."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in (
            RunStatus.QUEUED,
            RunStatus.RUNNING,
            RunStatus.CANCELING,
        ):
            return
        to_send = schedule_steps(run)
        transaction.on_commit(lambda: send_steps(to_send))


def schedule_steps(run: PipelineRun) -> list[StepRun]:
    """The decisions of ``advance_run`` for a run whose row the caller has locked; returns
    the steps it marked Queued, to be sent after the commit."""
    to_send: list[StepRun] = []
    steps = {s.name: s for s in run.steps.select_for_update().defer("log").order_by("position")}
    specs = {s["name"]: s for s in run.graph["steps"]}
    upstream = upstream_steps(run.graph)
    kept_run = keeps_finished_steps(run)
    changed = True
    while changed:
        changed = False
        for step in steps.values():
            if step.status not in PENDING:
                continue
            reason = _reason_not_to_run(run, step, steps, upstream)
            if reason:
                _end_step(step, RunStatus.CANCELED, reason)
                changed = True
            elif step.status == RunStatus.NOT_STARTED and all(
                steps[name].status == RunStatus.FINISHED for name in upstream[step.name]
            ):
                step.fingerprint = step_fingerprint(run, specs[step.name], steps)
                source = _reuse_source(run, specs[step.name], step, kept_run)
                if source is not None:
                    _reuse(step, source)
                    changed = True
                    continue
                step.status, step.queued_at = RunStatus.QUEUED, timezone.now()
                step.save(update_fields=["status", "queued_at", "fingerprint"])
                to_send.append(step)
    _finish_if_done(run, steps)
    return to_send


def send_steps(steps: list[StepRun]) -> int:
    """Send Queued steps to their compute target's queue; unsent ones go back to NotStarted
    (the periodic dispatcher wakes their run later). Returns how many were sent."""
    sent = 0
    for step in steps:
        if send_task(RUN_STEP_TASK, [step.pk, step.attempts + 1], step.compute_target):
            sent += 1
        else:
            StepRun.objects.filter(pk=step.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.NOT_STARTED, queued_at=None
            )
    return sent


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
    # The run is Running once its first step runs.
    PipelineRun.objects.filter(pk=step.run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    return True


def complete_step(
    step: StepRun, attempt: int, status: str, *, exit_code=None, reason="", outputs=None
) -> StepRun | None:
    """Record how attempt ``attempt`` of a step ended and, in the same transaction, start
    what became ready.

    A step canceled while it ran ends Canceled whatever the process did. One newly ready
    step for the same compute target is returned already claimed for this worker (Running,
    its attempt counted, so the reaper covers it), to run here without a broker round trip;
    the others are sent. None when there is no such step, or when the attempt no longer
    owns the step (the reaper gave it to another worker).
    """
    now = timezone.now()
    ended = {
        "exit_code": exit_code,
        "outputs": outputs or {},
        "finished_at": now,
        "heartbeat_at": now,
    }
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=step.run_id)
        mine = StepRun.objects.filter(pk=step.pk, attempts=attempt)
        if not mine.filter(status=RunStatus.RUNNING).update(
            status=status, failure_reason=reason, **ended
        ) and not mine.filter(status=RunStatus.CANCELING).update(
            status=RunStatus.CANCELED, failure_reason="Canceled while running.", **ended
        ):
            return None
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELING):
            return None
        to_send = schedule_steps(run)
        here = next((s for s in to_send if s.compute_target == step.compute_target), None)
        if here is not None:
            to_send.remove(here)
            here.status, here.attempts, here.worker = (
                RunStatus.RUNNING,
                here.attempts + 1,
                step.worker,
            )
            here.heartbeat_at = here.started_at = timezone.now()
            here.save(update_fields=["status", "attempts", "worker", "heartbeat_at", "started_at"])
        transaction.on_commit(lambda: send_steps(to_send))
    return here


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
            run = PipelineRun.objects.select_for_update().get(pk=run_id)
            step = StepRun.objects.select_for_update().defer("log").get(pk=step_id)
            if step.status not in (RunStatus.RUNNING, RunStatus.CANCELING) or (
                step.heartbeat_at and step.heartbeat_at >= cutoff
            ):
                continue
            note = f"\n[studio] worker {step.worker or '?'} lost: no heartbeat for {timeout:g} s"
            if step.status == RunStatus.CANCELING:
                _end_step(step, RunStatus.CANCELED, "Canceled; its worker was lost.")
            elif step.attempts < MAX_ATTEMPTS:
                step.status, step.queued_at = RunStatus.QUEUED, timezone.now()
                step.save(update_fields=["status", "queued_at"])
                note += "; retrying on another worker"
            else:
                _end_step(step, RunStatus.FAILED, "worker lost")
            StepRun.objects.filter(pk=step_id).update(log=Concat(F("log"), Value(note + "\n")))
            to_send = [step] if step.status == RunStatus.QUEUED else schedule_steps(run)
            transaction.on_commit(lambda steps=to_send: send_steps(steps))
        handled += 1
    return handled
