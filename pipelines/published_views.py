"""Studio pages for published pipelines: the list, a pipeline's page, disable/enable, submit."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import StudioError
from core.pagination import page_of
from core.params import local_url
from core.status_pages import BAD_REASON, posted_reason, switch_selected
from core.web import absolute_url, go_to, page_or_partial
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role

from .engine import submit_published_run
from .graph_svg import render_graph_svg
from .models import PipelineRun, PublishedPipeline
from .queries import experiment_names, published_for_listing, runs_for_listing
from .submit_form import SubmitForm
from .tables import run_table


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
    table = run_table(request, runs_for_listing(request.workspace, {"published": published}))
    context = {
        "published": published,
        "graph_svg": render_graph_svg(published.graph),
        "versions": published.endpoint_versions.select_related("endpoint").order_by(
            "endpoint__name", "number"
        ),
        "table": table,
        "page": table.page,
        "rest_url": absolute_url(request, f"/api/v1/published-pipelines/{published.pk}/runs"),
    }
    return page_or_partial(request, "pipelines/published_detail.html", context)


@member_required
@require_POST
def published_set_status(request, pk, enabled: bool):
    """Disable or enable a published pipeline (Admins); htmx gets its row back (or a note
    where it went) and the message."""
    published = get_for_member(request, PublishedPipeline, pk, role=Role.ADMIN)
    if (reason := posted_reason(request)) is None:
        return HttpResponseBadRequest(BAD_REASON)
    published.set_enabled(enabled, by=request.user, reason=reason)
    show_disabled = request.GET.get("show_disabled") == "on"
    messages.success(request, f"“{published}” is now {published.get_status_display()}.")
    if not request.htmx:
        back = reverse("pipelines:published_list")
        return redirect(local_url(request, request.POST.get("next"), back))
    row = published_for_listing(request.workspace, include_disabled=True).get(pk=published.pk)
    # A row that leaves a list hiding disabled pipelines becomes a note saying where it went.
    hidden = not (published.is_active or show_disabled)
    context = {"published": row, "show_disabled": show_disabled, "hidden": hidden}
    return render(request, "pipelines/published_list.html#toggled", context)


@member_required
def published_bulk_set_status(request):
    """Disable or enable the published pipelines selected in the list, after a confirmation
    naming them (Admins)."""
    require_role(request, Role.ADMIN)
    list_url = reverse("pipelines:published_list")
    return switch_selected(request, PublishedPipeline, list_url=list_url, noun="published pipeline")


@member_required
def published_submit(request, pk):
    published = get_for_member(request, PublishedPipeline, pk)
    data = request.POST if request.method == "POST" else None
    form = SubmitForm(
        data,
        graph=published.graph,
        experiment_names=experiment_names(request.workspace),
        initial={"experiment_name": request.GET.get("experiment_name", published.name)},
    )
    if data is not None:
        return submit_from_form(request, form, published, partial(submit_published_run, published))
    return submit_page(request, form, published)


def submit_page(request, form, target, status: int = 200):
    """The Submit form of ``target`` (a published pipeline or an endpoint): the page, the form
    alone (another version chosen), or the dialog's content (the page is its fallback)."""
    kind = "published" if isinstance(target, PublishedPipeline) else "endpoint"
    context = {"form": form, "target": target, "kind": kind}
    if request.htmx.target == "submit-dialog-body":
        context["dialog"] = True
        return render(request, "pipelines/submit.html#dialog", context, status=status)
    if request.htmx.target == "submit-form":
        return render(request, "pipelines/submit.html#form", context, status=status)
    return render(request, "pipelines/submit.html", context, status=status)


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
                description=form.cleaned_data["description"],
                tags=form.cleaned_data["tags"],
                **extra,
            )
        except StudioError as error:
            form.add_refusal(error)
        else:
            messages.success(request, f"Run {run.pk} submitted.")
            url = reverse("pipelines:run_detail", args=[run.pk])
            return go_to(request, url)
    return submit_page(request, form, target, status=400)
