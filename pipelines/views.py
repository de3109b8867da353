"""Studio pages for runs and experiments: the run list, the live run page, experiments."""

from __future__ import annotations

import posixpath

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from core.errors import StudioError
from core.pagination import page_of
from core.params import TEXT_POSITION_MAX, int_param
from core.web import go_to, page_or_partial
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role

from .charts import endpoint_charts, metric_chart_svg
from .comparison import ComparisonError, compare_runs, metrics_by_run, parse_run_ids, scalar_series
from .engine import rerun_from_failed_step, resubmit
from .forms import RunFilterForm, RunForm, initial_for_run
from .live import live_state, nothing_new, stop_when_idle, unchanged_since
from .models import Experiment, PipelineRun, RunStatus, StepRun
from .queries import (
    experiment_names,
    experiments_for_listing,
    read_log,
    run_for_page,
    runs_for_listing,
    with_run_counts,
)
from .run_page import SHOWN_METRICS, run_page
from .tables import run_table

CHARTED_RUNS = 50


@member_required
def run_list(request):
    filters = RunFilterForm(request.GET, workspace=request.workspace)
    runs = runs_for_listing(request.workspace, filters.filters())
    live = live_state(runs)
    if unchanged_since(request, live):
        return nothing_new()
    table = run_table(request, runs)
    context = {"table": table, "page": table.page, "filters": filters, "live": live}
    context["charts"] = endpoint_charts(table.page)
    response = page_or_partial(request, "pipelines/run_list.html", context)
    return stop_when_idle(request, response, live)


def _step_context(step: StepRun, offset: int | None = None) -> dict:
    """The step panel: facts, outputs, metrics, and its log from ``offset`` (None: the end)."""
    text, start, size = read_log(step.pk, offset)
    return {
        "step": step,
        "step_done": step.status in RunStatus.terminal(),
        "log": text,
        "log_cut": start,  # characters of earlier output not shown
        "log_offset": start + len(text),
        "step_metrics": metrics_by_run([step.run_id], step_id=step.pk)[step.run_id][:SHOWN_METRICS],
        "outputs": [
            (name, sorted(output.get("files") or []))
            for name, output in sorted((step.outputs or {}).items())
        ],
    }


@member_required
def run_detail(request, pk):
    """The run page; its ``#run-live`` part alone for the live refresh (286 once ended)."""
    runs = run_for_page(request.workspace).defer("graph", "published_pipeline__graph")
    run = get_for_member(request, runs, pk)
    page = run_page(run, request.GET)
    context = {"run": run, "selected_id": page.selected_id, **page.context()}
    if request.htmx.target == "run-live":
        response = render(request, "pipelines/run_detail.html#live", context)
        if run.is_terminal:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    if page.selected_id is not None:
        selected = StepRun.objects.defer("log", "argv").get(pk=page.selected_id)
        context.update(_step_context(selected))
    return render(request, "pipelines/run_detail.html", context)


@member_required
def step_log(request, pk, step_pk):
    """The log text after ``offset`` for the step panel; 286 with the final panel when done."""
    run = get_for_member(request, PipelineRun, pk)
    step = get_object_or_404(StepRun.objects.defer("log"), pk=step_pk, run=run)
    offset = int_param(request.GET, "offset", default=0, maximum=TEXT_POSITION_MAX)
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
    return go_to(request, url)


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
def run_rerun(request, pk):
    """The "Rerun from failed step" form: the failed run's values, to correct."""
    run = get_for_member(request, run_for_page(request.workspace), pk)
    data = request.POST if request.method == "POST" else None
    form = RunForm(
        data,
        graph=run.graph,
        experiment_names=experiment_names(request.workspace),
        initial=initial_for_run(run),
    )
    if data is not None:
        require_role(request, Role.CONTRIBUTOR)
        if form.is_valid():
            try:
                new_run = rerun_from_failed_step(
                    run,
                    by=request.user,
                    parameter_assignments=form.assignments,
                    experiment_name=form.cleaned_data["experiment_name"],
                    description=form.cleaned_data["description"],
                    tags=form.cleaned_data["tags"],
                )
            except StudioError as error:
                form.add_refusal(error)
            else:
                done = f"Run {new_run.pk} reruns run {run.pk} from its failed step."
                messages.success(request, done)
                return _back_to(request, reverse("pipelines:run_detail", args=[new_run.pk]))
    context = {"run": run, "form": form, "dialog": request.htmx.target == "submit-dialog-body"}
    template = "pipelines/run_rerun.html" + ("#dialog" if context["dialog"] else "")
    return render(request, template, context, status=200 if data is None else 400)


@member_required
def experiment_list(request):
    experiments = experiments_for_listing(request.workspace)
    page = page_of(experiments, request.GET.get("page"), annotate=with_run_counts)
    return page_or_partial(request, "pipelines/experiment_list.html", {"page": page})


@member_required
def experiment_detail(request, pk):
    experiment = get_for_member(request, Experiment, pk)
    runs = runs_for_listing(request.workspace, {"experiment": experiment})
    # The chart's metric picker is a control of the table's form: each keeps the other's
    # choices in the URL.
    table = run_table(request, runs, page_keys=("metric",))
    charted = list(runs[:CHARTED_RUNS])[::-1]  # oldest on the left
    series = scalar_series(charted)
    metric = request.GET.get("metric") or next(iter(series), "")
    context = {"experiment": experiment, "table": table, "page": table.page}
    context["metric_names"] = list(series)
    context["metric"] = metric
    if metric:
        context["chart"] = metric_chart_svg(series.get(metric, []), metric)
    return page_or_partial(request, "pipelines/experiment_detail.html", context)


@member_required
def run_compare(request):
    """Runs side by side: ``?runs=1,2,3`` (checkboxes send ``runs`` once per run)."""
    chosen = request.GET.getlist("runs")
    if len(chosen) > 1:  # from the checkboxes: the shareable form is one comma list
        return redirect(f"{reverse('pipelines:run_compare')}?runs={','.join(chosen)}")
    try:
        comparison = compare_runs(request.workspace, parse_run_ids(chosen))
    except ComparisonError as error:
        context = {"error": str(error), "runs_value": ",".join(chosen)[:200]}
        return render(request, "pipelines/run_compare.html", context, status=400)
    names = comparison.chartable_metrics
    metric = request.GET.get("metric") if request.GET.get("metric") in names else None
    metric = metric or (names[0] if names else "")
    context = {"comparison": comparison, "metric_names": names, "metric": metric}
    if metric:
        context["chart"] = metric_chart_svg(comparison.series(metric), metric, bars=True)
    return render(request, "pipelines/run_compare.html", context)
