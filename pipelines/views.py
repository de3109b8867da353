"""Studio pages for runs and experiments: the run list, the live run page, experiments."""

from __future__ import annotations

import posixpath

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from core.errors import StudioError
from core.pagination import page_of
from core.web import page_or_partial
from studio.models import Role
from studio.permissions import get_for_member, member_required

from .charts import endpoint_charts, metric_line_svg
from .engine import resubmit
from .forms import RunFilterForm
from .graph_svg import StepState, render_graph_svg
from .models import Experiment, PipelineRun, RunStatus, StepRun
from .queries import (
    experiments_for_listing,
    metric_names,
    metric_series,
    read_log,
    run_for_page,
    runs_for_listing,
    steps_for_run,
    with_run_counts,
)

CHARTED_RUNS = 50
SHOWN_METRICS = 200


@member_required
def run_list(request):
    filters = RunFilterForm(request.GET)
    runs = runs_for_listing(request.workspace, filters.filters())
    page = page_of(runs, request.GET.get("page"))
    context = {"page": page, "filters": filters, "charts": endpoint_charts(page)}
    return page_or_partial(request, "pipelines/run_list.html", context)


def _selected_step(steps: list[StepRun], wanted: str | None) -> StepRun | None:
    """The step the page shows: the one asked for, else a failed or running one, else the first."""
    by_id = {str(step.pk): step for step in steps}
    if wanted in by_id:
        return by_id[wanted]
    for status in (RunStatus.FAILED, RunStatus.RUNNING):
        for step in steps:
            if step.status == status:
                return step
    return steps[0] if steps else None


def _live_context(request, run: PipelineRun, steps: list[StepRun], selected) -> dict:
    base = reverse("pipelines:run_detail", args=[run.pk])
    states = {
        step.name: StepState(
            status=step.status,
            status_label=step.get_status_display(),
            reused=step.is_reused,
            href=f"{base}?step={step.pk}#step-panel",
            selected=selected is not None and step.pk == selected.pk,
        )
        for step in steps
    }
    return {
        "run": run,
        "steps": steps,
        "selected": selected,
        "graph_svg": render_graph_svg(run.graph, states),
        "metrics": run.metrics.select_related("step_run").order_by("id")[:SHOWN_METRICS],
    }


def _step_context(step: StepRun, offset: int | None = None) -> dict:
    """The step panel: facts, outputs, metrics, and its log from ``offset`` (None: the end)."""
    text, start, size = read_log(step.pk, offset)
    return {
        "step": step,
        "step_done": step.status in RunStatus.terminal(),
        "log": text,
        "log_cut": start,  # characters of earlier output not shown
        "log_offset": start + len(text),
        "step_metrics": step.metrics.order_by("id")[:SHOWN_METRICS],
        "outputs": [
            (name, sorted(output.get("files") or []))
            for name, output in sorted((step.outputs or {}).items())
        ],
    }


@member_required
def run_detail(request, pk):
    run = get_for_member(request, run_for_page(request.workspace), pk)
    steps = steps_for_run(run)
    selected = _selected_step(steps, request.GET.get("step"))
    context = _live_context(request, run, steps, selected)
    if request.htmx.target == "run-live":
        response = render(request, "pipelines/run_detail.html#live", context)
        if run.is_terminal:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    if selected is not None:
        context.update(_step_context(selected))
    return render(request, "pipelines/run_detail.html", context)


@member_required
def step_log(request, pk, step_pk):
    """The log text after ``offset`` for the step panel; 286 with the final panel when done."""
    run = get_for_member(request, PipelineRun, pk)
    step = get_object_or_404(StepRun.objects.defer("log"), pk=step_pk, run=run)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    context = {"run": run, **_step_context(step, offset)}
    response = render(request, "pipelines/run_detail.html#log_follow", context)
    if context["step_done"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@member_required
def step_output(request, pk, step_pk, name, path):
    """Download one file of a step's output, streamed from storage."""
    run = get_for_member(request, PipelineRun, pk)
    step = get_object_or_404(StepRun, pk=step_pk, run=run)
    output = (step.outputs or {}).get(name)
    if not output or path not in (output.get("files") or []):
        raise Http404("That output file does not exist.")
    stored = posixpath.join(output["path"], path)
    if not default_storage.exists(stored):
        raise Http404("That output file is no longer stored.")
    return FileResponse(
        default_storage.open(stored, "rb"), as_attachment=True, filename=posixpath.basename(path)
    )


def _back_to(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@member_required
@require_POST
def run_cancel(request, pk):
    run = get_for_member(request, PipelineRun, pk, role=Role.CONTRIBUTOR)
    try:
        run.cancel(by=request.user)
    except StudioError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Run {run.pk} is being canceled.")
    return _back_to(request, reverse("pipelines:run_detail", args=[run.pk]))


@member_required
@require_POST
def run_resubmit(request, pk):
    run = get_for_member(request, PipelineRun, pk, role=Role.CONTRIBUTOR)
    try:
        new_run = resubmit(run, by=request.user)
    except StudioError as refusal:
        messages.error(request, refusal.message)
        return _back_to(request, reverse("pipelines:run_detail", args=[run.pk]))
    messages.success(request, f"Run {new_run.pk} submitted with the parameters of run {run.pk}.")
    return _back_to(request, reverse("pipelines:run_detail", args=[new_run.pk]))


@member_required
def experiment_list(request):
    experiments = experiments_for_listing(request.workspace)
    page = page_of(experiments, request.GET.get("page"), annotate=with_run_counts)
    return page_or_partial(request, "pipelines/experiment_list.html", {"page": page})


@member_required
def experiment_detail(request, pk):
    experiment = get_for_member(request, Experiment, pk)
    runs = runs_for_listing(request.workspace, {"experiment": experiment})
    page = page_of(runs, request.GET.get("page"))
    charted = list(runs[:CHARTED_RUNS])[::-1]  # oldest on the left
    names = metric_names(charted)
    metric = request.GET.get("metric") or (names[0] if names else "")
    context = {"experiment": experiment, "page": page, "metric_names": names, "metric": metric}
    if metric:
        context["chart"] = metric_line_svg(metric_series(charted, metric), metric)
    return page_or_partial(request, "pipelines/experiment_detail.html", context)
