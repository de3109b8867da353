"""Submitting runs and handing them to Celery.

The database is the source of truth: ``submit_run`` writes the run and its step runs in
one transaction and sends its first steps to the broker only after the commit. A run
that could not be sent stays NotStarted and ``dispatch_waiting_runs`` (on the beat
schedule) sends it once the broker answers again. Step scheduling lives in
:mod:`pipelines.scheduler`, step execution in :mod:`pipelines.runner`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import actor_label, actor_user
from core.errors import Conflict, InvalidInput
from core.sql import fetch_one, table
from pipelines.graph import GraphPlan, resolve_parameters
from pipelines.models import (
    Experiment,
    PipelineRun,
    PublishedPipeline,
    RunMetricValue,
    RunStatus,
    StepRun,
)
from pipelines.scheduler import (
    ACTIVE_STEP,
    RERUNNABLE,
    RUN_MESSAGES,
    advance_run,
    plan_new_run,
    schedule_steps,
    send_steps,
)


def clean_experiment_name(name) -> str:
    """The experiment name stripped; InvalidInput naming ExperimentName when unusable."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            "ExperimentName is required.", [{"field": "ExperimentName", "message": "required"}]
        )
    name = name.strip()
    if len(name) > 255:
        raise InvalidInput(
            "ExperimentName is longer than 255 characters.",
            [{"field": "ExperimentName", "message": "at most 255 characters"}],
        )
    return name


def submit_run(
    *,
    workspace,
    graph: dict,
    experiment_name: str,
    parameters: dict,
    by,
    run_source: str,
    description: str = "",
    pipeline=None,
    published_pipeline=None,
    pipeline_endpoint=None,
    endpoint_version: str = "",
    continue_on_step_failure: bool = False,
    tags: dict | None = None,
    resubmitted_from=None,
) -> PipelineRun:
    """Create a run of a validated ``graph`` with resolved ``parameters`` and send it.

    The experiment is created on first use. Rows are written in one transaction; the run
    is sent to the broker after the commit and returned Queued, or NotStarted when the
    broker cannot be reached (the periodic dispatcher sends it later).
    """
    name = clean_experiment_name(experiment_name)
    plan = GraphPlan(graph)
    run = PipelineRun(
        workspace=workspace,
        pipeline=pipeline,
        published_pipeline=published_pipeline,
        pipeline_endpoint=pipeline_endpoint,
        endpoint_version=endpoint_version,
        graph=graph,
        parameters=parameters,
        description=description or "",
        run_source=run_source,
        tags=tags or {},
        continue_on_step_failure=continue_on_step_failure,
        submitted_by=actor_user(by),
        submitted_by_label=actor_label(by),
        resubmitted_from=resubmitted_from,
    )
    steps = [
        StepRun(
            name=step["name"],
            position=plan.position[step["name"]],
            compute_target=step["compute_target"],
        )
        for step in graph["steps"]
    ]
    with transaction.atomic():
        # The run row records who submitted it; submits are not audit events (the audit log
        # covers changes to pipelines, endpoints and tokens).
        run.experiment = _experiment(workspace, name)
        # The first steps are decided (reused or Queued) before the rows are written, so the
        # rows go in as decided and only the broker publish is left after the commit.
        to_send = plan_new_run(run, steps, plan)
        # Hand-written INSERTs: this is the API's busiest path (see core.sql).
        table(PipelineRun).insert([run])
        for step in steps:
            step.run = run
        table(StepRun).insert(steps)
        RunMetricValue.carry(steps)  # reused steps bring their metrics (no query without)
        transaction.on_commit(lambda: _send_first_steps(run, to_send))
    return run


def submit_published_run(
    published: PublishedPipeline,
    *,
    experiment_name: str,
    parameter_assignments: dict | None = None,
    by,
    run_source: str = "API",
    description: str = "",
    endpoint=None,
    endpoint_version: str = "",
    tags: dict | None = None,
) -> PipelineRun:
    """Start a run of ``published`` with type-checked parameter assignments.

    Raises ``Conflict`` when the pipeline is disabled and ``ParameterError`` naming each
    unknown or ill-typed assignment. ``endpoint`` and ``endpoint_version`` record the
    pipeline endpoint the run came through (see ``PipelineEndpoint.submit``).
    """
    published.check_active()
    parameters = resolve_parameters(published.graph, parameter_assignments)
    return submit_run(
        workspace=published.workspace,
        graph=published.graph,
        experiment_name=experiment_name,
        parameters=parameters,
        by=by,
        run_source=run_source,
        description=description,
        published_pipeline=published,
        pipeline_endpoint=endpoint,
        endpoint_version=endpoint_version,
        continue_on_step_failure=published.continue_on_step_failure,
        tags=tags,
    )


def _experiment(workspace, name: str) -> Experiment:
    """The experiment ``name`` of ``workspace``, created on first use. Two submits may race
    to create it: the loser's INSERT is left out (ON CONFLICT) and it reads the winner's."""
    experiments = table(Experiment)
    select = (
        f"SELECT {experiments.columns('x')} FROM {experiments.name} x "
        "WHERE x.workspace_id = %s AND x.name = %s"
    )
    row = fetch_one(select, [workspace.pk, name])
    if row is None:
        experiment = Experiment(workspace=workspace, name=name)
        if experiments.insert([experiment], ignore_conflicts=True):
            return experiment
        row = fetch_one(select, [workspace.pk, name])
    experiment = experiments.load(row)
    experiment.workspace = workspace
    return experiment


def _send_first_steps(run: PipelineRun, to_send: list[StepRun]) -> None:
    """Publish a new run's Queued steps; when none could be sent the run goes back to
    NotStarted (its steps already did) and ``dispatch_waiting_runs`` sends it later."""
    if to_send and not send_steps(to_send, RUN_MESSAGES):
        PipelineRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.NOT_STARTED, dispatched_at=None
        )
        run.status, run.dispatched_at = RunStatus.NOT_STARTED, None


def resubmit(
    run: PipelineRun,
    by,
    *,
    parameter_assignments: dict | None = None,
    experiment_name: str | None = None,
    description: str | None = None,
    tags: dict | None = None,
) -> PipelineRun:
    """A new run of the same graph as ``run``, linked to it (``resubmitted_from``), with its
    parameters, experiment, description and tags unless others are given.

    ``parameter_assignments`` change some parameters (the others keep ``run``'s values) and
    are checked like a submit's. Steps whose work is unchanged are reused from earlier runs
    when allowed; when ``run`` failed or was canceled, every step it finished whose work did
    not change is reused even if the step does not allow reuse (see ``keeps_finished_steps``
    in :mod:`pipelines.scheduler`). Raises ``core.errors.Conflict`` when the run's published
    pipeline has been disabled, ``ParameterError`` for bad assignments.
    """
    if run.published_pipeline is not None:
        run.published_pipeline.check_active()
    parameters = run.parameters
    if parameter_assignments:
        parameters = resolve_parameters(run.graph, {**run.parameters, **parameter_assignments})
    return submit_run(
        workspace=run.workspace,
        graph=run.graph,
        experiment_name=run.experiment.name if experiment_name is None else experiment_name,
        parameters=parameters,
        by=by,
        run_source=PipelineRun.Source.RESUBMIT,
        description=run.description if description is None else description,
        pipeline=run.pipeline,
        published_pipeline=run.published_pipeline,
        pipeline_endpoint=run.pipeline_endpoint,
        endpoint_version=run.endpoint_version,
        continue_on_step_failure=run.continue_on_step_failure,
        tags=run.tags if tags is None else tags,
        resubmitted_from=run,
    )


def rerun_from_failed_step(run: PipelineRun, by, **changes) -> PipelineRun:
    """Rerun a Failed or Canceled ``run`` from where it stopped: the new run reuses every
    step ``run`` finished whose inputs and parameters did not change and runs the rest.

    ``changes`` are those of :func:`resubmit` (e.g. a corrected ``parameter_assignments``).
    Raises ``core.errors.Conflict`` when ``run`` did not fail or was not canceled.
    """
    if run.status not in RERUNNABLE:
        raise Conflict(
            f"Run {run.pk} is {run.get_status_display()}: only a failed or canceled run "
            "can be rerun from its failed step (Resubmit starts it again)."
        )
    return resubmit(run, by, **changes)


def dispatch_run(run: PipelineRun) -> bool:
    """Queue the first steps of a NotStarted run and send them to their workers.

    The run is Queued when a step was sent (or Finished at once when every step could be
    reused); when the broker cannot be reached it goes back to NotStarted. Returns True
    when the run left NotStarted.
    """
    with transaction.atomic():
        locked = PipelineRun.objects.select_for_update().filter(pk=run.pk).first()
        if locked is None or locked.status != RunStatus.NOT_STARTED:
            return False
        locked.status, locked.dispatched_at = RunStatus.QUEUED, timezone.now()
        locked.save(update_fields=["status", "dispatched_at"])
        to_send = schedule_steps(locked)
    if to_send and not send_steps(to_send, RUN_MESSAGES):
        PipelineRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.NOT_STARTED, dispatched_at=None
        )
        run.status, run.dispatched_at = RunStatus.NOT_STARTED, None
        return False
    run.refresh_from_db(fields=["status", "dispatched_at", "started_at", "finished_at"])
    return True


# How many of the oldest Queued steps of each compute target may be sent again per pass.
RESEND_HEAD = 50


def dispatch_waiting_runs(limit: int = 500) -> int:
    """Send the runs the broker never got (NotStarted), and wake started runs that have no
    step queued or running (a step message that could not be sent), so no run waits
    forever. Runs on the beat schedule; returns how many runs were sent.
    """
    sent = 0
    for run in PipelineRun.objects.filter(status=RunStatus.NOT_STARTED).order_by("created_at")[
        :limit
    ]:
        if not dispatch_run(run):
            break  # The broker is still down; try again on the next tick.
        sent += 1
    idle = (
        PipelineRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .exclude(steps__status__in=ACTIVE_STEP)
        .values_list("pk", flat=True)[:limit]
    )
    for run_id in idle:
        advance_run(run_id)
    resend_stale_steps()
    return sent


def resend_stale_steps(head: int = RESEND_HEAD) -> int:
    """Send again the steps Queued for longer than STUDIO_QUEUED_RESEND_SECONDS among the
    ``head`` oldest Queued steps of each compute target.

    A web process that dies between its commit and the broker publish leaves a Queued step
    with no message, and a worker that dies holding a message it had not claimed yet takes
    the message with it. A second message for a step that does have one is harmless: the
    attempt number lets only one of them claim the step, the other does nothing. Queues are
    first in, first out, so a lost message is one of the oldest Queued steps of its compute
    target once what was queued before it has run; looking only there keeps a long backlog
    from being sent again and again. Each step is re-sent at most once per period (its
    queued_at moves on). Returns how many were sent.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.STUDIO_QUEUED_RESEND_SECONDS)
    stale = []
    queued = StepRun.objects.filter(status=RunStatus.QUEUED)
    for target in queued.values_list("compute_target", flat=True).distinct().order_by():
        oldest = queued.filter(compute_target=target).order_by("pk")[:head]
        stale += [
            s
            for s in oldest.only("pk", "attempts", "compute_target", "status", "queued_at")
            if s.queued_at is None or s.queued_at < cutoff
        ]
    if not stale:
        return 0
    StepRun.objects.filter(pk__in=[s.pk for s in stale], status=RunStatus.QUEUED).update(
        queued_at=timezone.now()
    )
    return send_steps(stale)
