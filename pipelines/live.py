"""Lists that follow runs as they happen (Runs, an endpoint's Runs tab, the endpoint list).

While a run of the list is queued or running, the list's fragment polls every few seconds
(``#live-poll``); the answer that finds nothing active is 286, so htmx stops that poll.
An idle list then only asks, now and then, whether a run was added (``#idle-watch``, with the
newest run id it shows in ``X-Studio-Since``): "no" is an empty 204 that htmx does not swap,
one indexed query; "yes" brings the fresh list, polling again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpResponse
from django_htmx.http import HttpResponseStopPolling

from .models import PipelineRun, RunStatus

LIVE_SECONDS = 3
IDLE_SECONDS = 10
SINCE_HEADER = "X-Studio-Since"


@dataclass
class LiveState:
    """Whether a list's runs are still moving, and the newest run it holds."""

    active: bool
    latest: int
    live_seconds: int = LIVE_SECONDS
    idle_seconds: int = IDLE_SECONDS


def live_state(runs: QuerySet[PipelineRun]) -> LiveState:
    """The state of ``runs`` (a list's runs, filters applied), in two indexed queries."""
    runs = runs.order_by()
    active = runs.filter(status__in=RunStatus.active()).exists()
    latest = runs.order_by("-pk").values_list("pk", flat=True).first() or 0
    return LiveState(active=active, latest=latest)


def unchanged_since(request, state: LiveState) -> bool:
    """True for an idle watch that finds nothing new: answer it with :func:`nothing_new`."""
    if request.htmx.trigger != "idle-watch":
        return False
    since = request.headers.get(SINCE_HEADER, "")
    return since.isdigit() and int(since) == state.latest and not state.active


def nothing_new() -> HttpResponse:
    return HttpResponse(status=204)


def stop_when_idle(request, response: HttpResponse, state: LiveState) -> HttpResponse:
    """The live poll's answer once nothing is active: 286 stops the browser's polling."""
    if request.htmx.trigger == "live-poll" and not state.active:
        response.status_code = HttpResponseStopPolling.status_code
    return response
