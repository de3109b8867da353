"""Studio pages for pipeline endpoints: the list, the endpoint's tabs, default version, submit."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from pipelines.forms import EndpointRunFilterForm
from pipelines.graph import InvalidInput
from pipelines.graph_svg import render_graph_svg
from pipelines.live import live_state, nothing_new, stop_when_idle, unchanged_since
from pipelines.models import PipelineRun, PublishedPipeline
from pipelines.queries import experiment_names, page_of, runs_for_listing
from pipelines.schemas import absolute_url
from pipelines.tables import run_table
from studio.models import Role
from studio.permissions import get_for_member, member_required, require_role
from studio.rules import Refusal

from . import snippets
from .forms import SubmitForm
from .models import PipelineEndpoint
from .queries import (
    ENDPOINT_SORTS,
    endpoint_runs,
    endpoints_for_listing,
    last_run_of,
    published_for_listing,
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
    template = "endpoints/endpoint_list.html"
    if request.htmx.target == "results":
        template += "#results"
    context = {"page": page, "search": search, "tab": "endpoints", "live": live}
    context.update(show_disabled=show_disabled, sort=sort, sorts=ENDPOINT_SORT_LABELS)
    if not (page.paginator.count or show_disabled or search):
        context["hidden_disabled"] = endpoints_for_listing(request.workspace, "", True).exists()
    return stop_when_idle(request, render(request, template, context), live)


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
        if request.htmx.target == "results":
            response = render(request, "endpoints/endpoint_detail.html#results", context)
            return stop_when_idle(request, response, live)
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
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("endpoints:endpoint_detail", args=[endpoint.pk])
    return redirect(back)


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
        experiment_names=experiment_names(request.workspace),
        initial={
            "pipeline_version": chosen.version if chosen else "",
            "experiment_name": request.GET.get("experiment_name", endpoint.name),
        },
    )
    if data is not None:
        return _submit(request, form, endpoint)
    return _submit_page(request, form, endpoint)


def _submit_page(request, form, target, status=200):
    """The Submit form: a page, or the dialog's content for htmx (the page's fallback)."""
    kind = "endpoint" if isinstance(target, PipelineEndpoint) else "published"
    context = {"form": form, "target": target, "kind": kind}
    if request.htmx.target == "submit-form":
        return render(request, "endpoints/submit.html#form", context, status=status)
    if request.htmx.target == "submit-dialog-body":
        context["dialog"] = True
        return render(request, "endpoints/submit.html#dialog", context, status=status)
    return render(request, "endpoints/submit.html", context, status=status)


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
                description=form.cleaned_data["description"],
                tags=form.cleaned_data["tags"],
                **extra,
            )
        except (InvalidInput, Refusal) as error:
            form.add_refusal(error)
        else:
            messages.success(request, f"Run {run.pk} submitted.")
            url = reverse("pipelines:run_detail", args=[run.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _submit_page(request, form, target, status=400)


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
    messages.success(request, f"“{published}” is now {published.get_status_display()}.")
    if not request.htmx:
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("endpoints:published_list")
        return redirect(back)
    row = published_for_listing(request.workspace, include_disabled=True).get(pk=published.pk)
    # A row that leaves a list hiding disabled pipelines becomes a note saying where it went.
    hidden = not (published.is_active or show_disabled)
    context = {"published": row, "show_disabled": show_disabled, "hidden": hidden}
    return render(request, "endpoints/published_list.html#toggled", context)


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
        return _submit(request, form, published)
    return _submit_page(request, form, published)
