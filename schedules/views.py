"""Studio pages for schedules: the workspace list, a target's Schedules tab, the form, the
schedule's page with its firings, and pause/resume/delete (Contributors)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import StudioError
from core.pagination import page_of
from endpoints.models import PipelineEndpoint
from endpoints.queries import versions_for_endpoint
from pipelines.models import PublishedPipeline
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role

from .forms import ScheduleForm
from .models import Schedule
from .queries import firings_of, schedules_for_listing

TARGETS = {"endpoint": PipelineEndpoint, "published": PublishedPipeline}


@member_required
def schedule_list(request):
    page = page_of(schedules_for_listing(request.workspace), request.GET.get("page"))
    return render(request, "schedules/schedule_list.html", {"page": page})


@member_required
def target_schedules(request, kind, pk):
    target = get_for_member(request, TARGETS[kind], pk)
    rows = schedules_for_listing(request.workspace, **{kind: target})
    context = {**_target_context(kind, target), "page": page_of(rows, request.GET.get("page"))}
    return render(request, "schedules/target_schedules.html", context)


@member_required
def schedule_new(request, kind, pk):
    target = get_for_member(request, TARGETS[kind], pk)
    form = _form(request, target)
    if request.method == "POST":
        require_role(request, Role.CONTRIBUTOR)
        if form.is_valid():
            try:
                schedule = Schedule.create(request.workspace, target, form.spec(), by=request.user)
            except StudioError as error:
                form.add_refusal(error)
            else:
                messages.success(request, f"Schedule “{schedule}” created.")
                return redirect("schedules:schedule_detail", pk=schedule.pk)
    return _render_form(request, form, _target_context(kind, target))


@member_required
def schedule_edit(request, pk):
    schedule = get_for_member(request, Schedule, pk)
    form = _form(request, schedule.target, initial=ScheduleForm.initial_of(schedule))
    if request.method == "POST":
        require_role(request, Role.CONTRIBUTOR)
        if form.is_valid():
            try:
                schedule.update(form.spec(), by=request.user)
            except StudioError as error:
                form.add_refusal(error)
            else:
                messages.success(request, f"Schedule “{schedule}” saved.")
                return redirect("schedules:schedule_detail", pk=schedule.pk)
    kind = "endpoint" if schedule.pipeline_endpoint_id else "published"
    context = {**_target_context(kind, schedule.target), "schedule": schedule}
    return _render_form(request, form, context)


@member_required
def schedule_detail(request, pk):
    schedule = get_for_member(request, schedules_for_listing(request.workspace), pk)
    kind = "endpoint" if schedule.pipeline_endpoint_id else "published"
    context = {
        **_target_context(kind, schedule.target),
        "schedule": schedule,
        "schedule_rows": [schedule],
        "firings": firings_of(schedule),
    }
    return render(request, "schedules/schedule_detail.html", context)


@member_required
@require_POST
def schedule_set_paused(request, pk, action):
    """Pause or resume (Contributors); htmx gets the schedule's row back."""
    schedule = get_for_member(request, Schedule, pk, role=Role.CONTRIBUTOR)
    schedule.pause(by=request.user) if action == "pause" else schedule.resume(by=request.user)
    if request.htmx:
        row = schedules_for_listing(request.workspace).get(pk=schedule.pk)
        return render(request, "schedules/_table.html#row", {"schedule": row})
    messages.success(request, f"Schedule “{schedule}” is now {schedule.status}.")
    return redirect("schedules:schedule_detail", pk=schedule.pk)


@member_required
@require_POST
def schedule_delete(request, pk):
    schedule = get_for_member(request, Schedule, pk, role=Role.CONTRIBUTOR)
    schedule.remove(by=request.user)
    if request.htmx:
        return HttpResponse("")  # the row leaves the table
    messages.success(request, f"Schedule “{schedule}” deleted.")
    return redirect("schedules:schedule_list")


def _form(request, target, initial=None) -> ScheduleForm:
    data = request.POST if request.method == "POST" else None
    return ScheduleForm(data, graph=Schedule.target_graph(target), initial=initial)


def _render_form(request, form, context):
    status = 400 if request.method == "POST" else 200
    return render(request, "schedules/schedule_form.html", {**context, "form": form}, status=status)


def _target_context(kind: str, target) -> dict:
    """What the target's header shows: its kind, itself, and (endpoints) the tab bar's needs."""
    context = {"kind": kind, "target": target, "tab": "schedules"}
    if kind == "endpoint":
        context["endpoint"] = target
        versions = versions_for_endpoint(target)
        context["default"] = next((v for v in versions if v.is_default), None)
    else:
        context["published"] = target
    context["target_url"] = reverse(
        "endpoints:endpoint_detail" if kind == "endpoint" else "pipelines:published_detail",
        args=[target.pk],
    )
    return context
