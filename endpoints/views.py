"""Studio pages for pipeline endpoints: the list, the endpoint's tabs, default version, submit."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import StudioError
from core.pagination import page_of
from core.web import absolute_url, page_or_partial
from pipelines.forms import EndpointRunFilterForm
from pipelines.published_views import submit_from_form
from pipelines.queries import runs_for_listing
from pipelines.submit_form import SubmitForm
from studio.models import Role
from studio.permissions import get_for_member, member_required

from . import snippets
from .models import PipelineEndpoint
from .queries import (
    endpoints_for_listing,
    last_run_of,
    versions_for_endpoint,
    with_default_and_last_run,
)

SEARCH_MAX = 200


@member_required
def endpoint_list(request):
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    endpoints = endpoints_for_listing(request.workspace, search)
    page = page_of(endpoints, request.GET.get("page"), annotate=with_default_and_last_run)
    context = {"page": page, "search": search, "tab": "endpoints"}
    return page_or_partial(request, "endpoints/endpoint_list.html", context)


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
    elif tab == "consume":
        graph = default.published_pipeline.graph if default else {}
        context["snippets"] = snippets.for_endpoint(endpoint, context["rest_url"], graph, request)
    elif tab == "overview":
        context["last_run"] = last_run_of(endpoint)
    return page_or_partial(request, "endpoints/endpoint_detail.html", context)


@member_required
@require_POST
def set_default_version(request, pk):
    endpoint = get_for_member(request, PipelineEndpoint, pk, role=Role.ADMIN)
    version = request.POST.get("version", "")
    try:
        chosen = endpoint.set_default_version(version, by=request.user)
    except StudioError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Version {chosen.version} is now the default.")
    url = reverse("endpoints:endpoint_versions", args=[endpoint.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@member_required
@require_POST
def endpoint_set_status(request, pk, enabled: bool):
    """Disable an endpoint, so it refuses new runs, or enable it again (Admins)."""
    endpoint = get_for_member(request, PipelineEndpoint, pk, role=Role.ADMIN)
    endpoint.set_enabled(enabled, by=request.user)
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
        return submit_from_form(request, form, endpoint, endpoint.submit)
    context = {"form": form, "target": endpoint, "kind": "endpoint"}
    return page_or_partial(
        request, "pipelines/submit.html", context, target="submit-form", partial="form"
    )
