"""Studio pages for pipeline endpoints: the list, the endpoint's tabs, default version, submit."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import StudioError
from core.pagination import page_of
from core.status_pages import BAD_REASON, posted_reason, switch_selected
from core.web import absolute_url, go_to, page_or_partial
from pipelines.forms import EndpointRunFilterForm
from pipelines.live import live_state, nothing_new, stop_when_idle, unchanged_since
from pipelines.published_views import submit_from_form, submit_page
from pipelines.queries import experiment_names, runs_for_listing
from pipelines.submit_form import CHANGE_VERSION, SubmitForm, typed_so_far
from pipelines.tables import run_table
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role
from studio.sdk_dist import install_help

from . import snippets
from .models import PipelineEndpoint
from .queries import (
    ENDPOINT_SORTS,
    endpoint_runs,
    endpoints_for_listing,
    last_run_of,
    versions_for_endpoint,
    with_default_and_last_run,
)

SEARCH_MAX = 200
ENDPOINT_SORT_LABELS = [
    ("name", "Name"),
    ("-last_run", "Last run, newest first"),
    ("last_run", "Last run, oldest first"),
    ("-updated", "Updated, newest first"),
    ("updated", "Updated, oldest first"),
]


@member_required
def endpoint_list(request):
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    show_disabled = request.GET.get("show_disabled") == "on"
    sort = request.GET.get("sort", "name")
    sort = sort if sort in ENDPOINT_SORTS else "name"
    endpoints = endpoints_for_listing(request.workspace, search, show_disabled, sort)
    live = live_state(endpoint_runs(request.workspace))
    if unchanged_since(request, live):
        return nothing_new()
    page = page_of(endpoints, request.GET.get("page"), annotate=with_default_and_last_run)
    context = {"page": page, "search": search, "tab": "endpoints", "live": live}
    context.update(show_disabled=show_disabled, sort=sort, sorts=ENDPOINT_SORT_LABELS)
    if not (page.paginator.count or show_disabled or search):
        context["hidden_disabled"] = endpoints_for_listing(request.workspace, "", True).exists()
    response = page_or_partial(request, "endpoints/endpoint_list.html", context)
    return stop_when_idle(request, response, live)


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
        context["live"] = live = live_state(runs)
        if unchanged_since(request, live):
            return nothing_new()
        context["filters"] = filters
        context["table"] = run_table(request, runs)
        context["page"] = context["table"].page
        response = page_or_partial(request, "endpoints/endpoint_detail.html", context)
        return stop_when_idle(request, response, live)
    elif tab == "consume":
        graph = default.published_pipeline.graph if default else {}
        context["snippets"] = snippets.for_endpoint(endpoint, context["rest_url"], graph, request)
        context["sdk_install"] = install_help(absolute_url(request, ""))
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
    return go_to(request, url)


@member_required
@require_POST
def endpoint_set_status(request, pk, enabled: bool):
    """Disable an endpoint, so it refuses new runs, or enable it again (Admins)."""
    endpoint = get_for_member(request, PipelineEndpoint, pk, role=Role.ADMIN)
    if (reason := posted_reason(request)) is None:
        return HttpResponseBadRequest(BAD_REASON)
    endpoint.set_enabled(enabled, by=request.user, reason=reason)
    messages.success(request, f"“{endpoint}” is now {endpoint.get_status_display()}.")
    return redirect(reverse("endpoints:endpoint_detail", args=[endpoint.pk]))


@member_required
def endpoint_submit(request, pk):
    """The Submit form (page or dialog); a POST runs the chosen version, unless it is the
    version picker asking for that version's fields (``change_version``): the form comes
    back for it, keeping what was typed but the parameters, and nothing is submitted."""
    endpoint = get_for_member(request, PipelineEndpoint, pk)
    versions = versions_for_endpoint(endpoint)
    default = next((v for v in versions if v.is_default), None)
    posted = request.POST if request.method == "POST" else None
    given = posted if posted is not None else request.GET
    chosen_number = given.get("pipeline_version", default.version if default else "")
    chosen = next((v for v in versions if v.version == chosen_number), default)
    changing = posted is not None and CHANGE_VERSION in posted
    form = SubmitForm(
        None if changing else posted,
        graph=chosen.published_pipeline.graph if chosen else {},
        versions=versions,
        default_version=chosen.version if chosen else "",
        experiment_names=experiment_names(request.workspace),
        initial={
            "pipeline_version": chosen.version if chosen else "",
            **typed_so_far(given, experiment_name=endpoint.name),
        },
    )
    if posted is not None and not changing:
        return submit_from_form(request, form, endpoint, endpoint.submit)
    return submit_page(request, form, endpoint)


@member_required
def endpoint_bulk_set_status(request):
    """Disable or enable the endpoints selected in the list, after a confirmation (Admins)."""
    require_role(request, Role.ADMIN)
    list_url = reverse("endpoints:endpoint_list")
    return switch_selected(request, PipelineEndpoint, list_url=list_url, noun="pipeline endpoint")
