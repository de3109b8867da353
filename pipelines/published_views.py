"""Studio pages for published pipelines: the list, a pipeline's page, disable/enable, submit."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import StudioError
from core.pagination import page_of
from core.web import absolute_url, page_or_partial
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role

from .engine import submit_published_run
from .graph_svg import render_graph_svg
from .models import PipelineRun, PublishedPipeline
from .queries import published_for_listing, runs_for_listing
from .submit_form import SubmitForm


@member_required
def published_list(request):
    show_disabled = request.GET.get("show_disabled") == "on"
    published = published_for_listing(request.workspace, include_disabled=show_disabled)
    page = page_of(published, request.GET.get("page"))
    context = {"page": page, "show_disabled": show_disabled, "tab": "published"}
    return page_or_partial(request, "pipelines/published_list.html", context)


@member_required
def published_detail(request, pk):
    published = get_for_member(request, PublishedPipeline, pk)
    runs = runs_for_listing(request.workspace, {"published": published})
    context = {
        "published": published,
        "graph_svg": render_graph_svg(published.graph),
        "versions": published.endpoint_versions.select_related("endpoint").order_by(
            "endpoint__name", "number"
        ),
        "page": page_of(runs, request.GET.get("page")),
        "rest_url": absolute_url(request, f"/api/v1/published-pipelines/{published.pk}/runs"),
    }
    return page_or_partial(request, "pipelines/published_detail.html", context)


@member_required
@require_POST
def published_set_status(request, pk, enabled: bool):
    """Disable or enable a published pipeline (Admins); htmx gets its row back, or nothing."""
    published = get_for_member(request, PublishedPipeline, pk, role=Role.ADMIN)
    published.set_enabled(enabled, by=request.user)
    show_disabled = request.GET.get("show_disabled") == "on"
    if not request.htmx:
        messages.success(request, f"“{published}” is now {published.get_status_display()}.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("pipelines:published_list")
        return redirect(back)
    if not (published.is_active or show_disabled):
        return HttpResponse("")  # the row leaves a list that hides disabled pipelines
    row = published_for_listing(request.workspace, include_disabled=True).get(pk=published.pk)
    context = {"published": row, "show_disabled": show_disabled}
    return render(request, "pipelines/published_list.html#row", context)


@member_required
def published_submit(request, pk):
    published = get_for_member(request, PublishedPipeline, pk)
    data = request.POST if request.method == "POST" else None
    form = SubmitForm(data, graph=published.graph)
    if data is not None:
        return submit_from_form(request, form, published, partial(submit_published_run, published))
    return render(
        request, "pipelines/submit.html", {"form": form, "target": published, "kind": "published"}
    )


def submit_from_form(request, form, target, start):
    """Validate the Submit ``form`` and start a run of ``target`` (a published pipeline or an
    endpoint) with ``start``; refusals re-render the form with 400, beside their fields."""
    require_role(request, Role.CONTRIBUTOR)
    if form.is_valid():
        extra = {}
        if "pipeline_version" in form.fields:  # endpoints only
            extra["version"] = form.cleaned_data["pipeline_version"]
        try:
            run = start(
                experiment_name=form.cleaned_data["experiment_name"],
                parameter_assignments=form.assignments,
                by=request.user,
                run_source=PipelineRun.Source.STUDIO,
                **extra,
            )
        except StudioError as error:
            form.add_refusal(error)
        else:
            messages.success(request, f"Run {run.pk} submitted.")
            return redirect("pipelines:run_detail", pk=run.pk)
    kind = "published" if isinstance(target, PublishedPipeline) else "endpoint"
    context = {"form": form, "target": target, "kind": kind}
    return render(request, "pipelines/submit.html", context, status=400)
