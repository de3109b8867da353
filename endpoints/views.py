"""Studio pages for pipeline endpoints: the list, the endpoint's tabs, default version, submit."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from pipelines.forms import EndpointRunFilterForm
from pipelines.graph import InvalidInput
from pipelines.graph_svg import render_graph_svg
from pipelines.models import PipelineRun, PublishedPipeline
from pipelines.queries import page_of, runs_for_listing
from pipelines.schemas import absolute_url
from studio.models import Role
from studio.params import local_url
from studio.permissions import get_for_member, member_required, require_role
from studio.rules import Refusal

from . import snippets
from .forms import SubmitForm
from .models import PipelineEndpoint
from .queries import (
    endpoints_for_listing,
    last_run_of,
    published_for_listing,
    versions_for_endpoint,
    with_default_and_last_run,
)

SEARCH_MAX = 200


@member_required
def endpoint_list(request):
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    endpoints = endpoints_for_listing(request.workspace, search)
    page = page_of(endpoints, request.GET.get("page"), annotate=with_default_and_last_run)
    template = "endpoints/endpoint_list.html"
    if request.htmx.target == "results":
        template += "#results"
    return render(request, template, {"page": page, "search": search, "tab": "endpoints"})


@member_required
def endpoint_detail(request, pk, tab="overview"):
    endpoint = get_for_member(request, PipelineEndpoint, pk)
    versions = versions_for_endpoint(endpoint)
    default = next((v for v in versions if v.is_default), None)
    context = {
        "endpoint": endpoint,
        "versions": versions,
        "default": default,
        "tab": tab,
        "rest_url": absolute_url(request, f"/api/v1/pipeline-endpoints/{endpoint.pk}/runs"),
    }
    if tab == "runs":
        filters = EndpointRunFilterForm(request.GET)
        runs = runs_for_listing(request.workspace, {"endpoint": endpoint, **filters.filters()})
        context["filters"] = filters
        context["page"] = page_of(runs, request.GET.get("page"))
        if request.htmx.target == "results":
            return render(request, "endpoints/endpoint_detail.html#results", context)
    elif tab == "consume":
        graph = default.published_pipeline.graph if default else {}
        context["snippets"] = snippets.for_endpoint(endpoint, context["rest_url"], graph, request)
    elif tab == "overview":
        context["last_run"] = last_run_of(endpoint)
    return render(request, "endpoints/endpoint_detail.html", context)


@member_required
@require_POST
def set_default_version(request, pk):
    endpoint = get_for_member(request, PipelineEndpoint, pk, role=Role.ADMIN)
    version = request.POST.get("version", "")
    try:
        chosen = endpoint.set_default_version(version, by=request.user)
    except Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Version {chosen.version} is now the default.")
    url = reverse("endpoints:endpoint_versions", args=[endpoint.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@member_required
@require_POST
def endpoint_set_status(request, pk, action):
    """Disable (archive) an endpoint, so it refuses new runs, or enable it again (Admins)."""
    endpoint = get_for_member(request, PipelineEndpoint, pk, role=Role.ADMIN)
    endpoint.set_enabled(action == "enable", by=request.user)
    messages.success(request, f"“{endpoint}” is now {endpoint.get_status_display()}.")
    return redirect(reverse("endpoints:endpoint_detail", args=[endpoint.pk]))


@member_required
def endpoint_submit(request, pk):
    endpoint = get_for_member(request, PipelineEndpoint, pk)
    versions = versions_for_endpoint(endpoint)
    default = next((v for v in versions if v.is_default), None)
    data = request.POST if request.method == "POST" else None
    chosen_number = (data or request.GET).get(
        "pipeline_version", default.version if default else ""
    )
    chosen = next((v for v in versions if v.version == chosen_number), default)
    graph = chosen.published_pipeline.graph if chosen else {}
    form = SubmitForm(
        data,
        graph=graph,
        versions=versions,
        default_version=chosen.version if chosen else "",
        initial={
            "pipeline_version": chosen.version if chosen else "",
            "experiment_name": request.GET.get("experiment_name", ""),
        },
    )
    if data is not None:
        return _submit(request, form, endpoint)
    context = {"form": form, "target": endpoint, "kind": "endpoint"}
    if request.htmx.target == "submit-form":
        return render(request, "endpoints/submit.html#form", context)
    return render(request, "endpoints/submit.html", context)


def _submit(request, form, target):
    """Validate ``form`` and submit a run of ``target``; errors re-render the form with 400."""
    require_role(request, Role.CONTRIBUTOR)
    if form.is_valid():
        extra = {}
        if "pipeline_version" in form.fields:  # endpoints only
            extra["version"] = form.cleaned_data["pipeline_version"]
        try:
            run = target.submit(
                experiment_name=form.cleaned_data["experiment_name"],
                parameter_assignments=form.assignments,
                by=request.user,
                run_source=PipelineRun.Source.STUDIO,
                **extra,
            )
        except (InvalidInput, Refusal) as error:
            form.add_refusal(error)
        else:
            messages.success(request, f"Run {run.pk} submitted.")
            return redirect("pipelines:run_detail", pk=run.pk)
    kind = "endpoint" if isinstance(target, PipelineEndpoint) else "published"
    context = {"form": form, "target": target, "kind": kind}
    return render(request, "endpoints/submit.html", context, status=400)


@member_required
def published_list(request):
    show_disabled = request.GET.get("show_disabled") == "on"
    published = published_for_listing(request.workspace, include_disabled=show_disabled)
    page = page_of(published, request.GET.get("page"))
    context = {"page": page, "show_disabled": show_disabled, "tab": "published"}
    template = "endpoints/published_list.html"
    if request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)


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
    if request.htmx.target == "results":
        return render(request, "endpoints/published_detail.html#results", context)
    return render(request, "endpoints/published_detail.html", context)


@member_required
@require_POST
def published_set_status(request, pk, action):
    """Disable or enable a published pipeline (Admins); htmx gets its row back, or nothing."""
    published = get_for_member(request, PublishedPipeline, pk, role=Role.ADMIN)
    published.set_enabled(action == "enable", by=request.user)
    show_disabled = request.GET.get("show_disabled") == "on"
    if not request.htmx:
        messages.success(request, f"“{published}” is now {published.get_status_display()}.")
        back = reverse("endpoints:published_list")
        return redirect(local_url(request, request.POST.get("next"), back))
    if not (published.is_active or show_disabled):
        return HttpResponse("")  # the row leaves a list that hides disabled pipelines
    row = published_for_listing(request.workspace, include_disabled=True).get(pk=published.pk)
    context = {"published": row, "show_disabled": show_disabled}
    return render(request, "endpoints/published_list.html#row", context)


@member_required
def published_submit(request, pk):
    published = get_for_member(request, PublishedPipeline, pk)
    data = request.POST if request.method == "POST" else None
    form = SubmitForm(data, graph=published.graph)
    if data is not None:
        return _submit(request, form, published)
    return render(
        request, "endpoints/submit.html", {"form": form, "target": published, "kind": "published"}
    )
