"""Prometheus metrics for operators: ``GET /metrics`` when ``STUDIO_METRICS_ENABLED=1``.

Every figure is read when scraped, from the database, the broker and the shared cache, so
each web process answers the same whichever one the scraper reaches:

- ``studio_runs{status}``: runs by status;
- ``studio_queue_depth{queue}``: messages waiting in each declared queue (a passive declare,
  which Redis, RabbitMQ and the embedded broker all answer);
- ``studio_step_duration_seconds``: a histogram of the durations of ended steps;
- ``studio_submits_total{result}``: submits accepted, replayed (same Idempotency-Key),
  refused by the domain (400/409) or failed; counted in the cache (shared with CACHE_URL);
- ``studio_worker_heartbeat_age_seconds{worker}``: seconds since each worker's last
  heartbeat, for the workers not stopped that were seen in the last hour. Every worker writes
  its own every ``STUDIO_WORKER_HEARTBEAT_INTERVAL`` seconds whether or not it runs steps
  (``pipelines.worker_heartbeat``), so an idle worker is there too;
- ``studio_workers{state}``: the workers seen in the last hour by state: ``alive``,
  ``stale`` (unseen for 3 of its intervals: killed, its machine gone, or its main loop stuck)
  or ``stopped`` (shut down).

Access: with ``STUDIO_METRICS_TOKEN`` set, a scraper sends ``Authorization: Bearer <token>``;
without it only clients on this machine are answered (loopback, no X-Forwarded-For).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from studio.celery import app

from .models import PipelineRun, RunStatus, StepRun, WorkerHeartbeat, WorkerState

logger = logging.getLogger(__name__)

SUBMIT_RESULTS = ("accepted", "replayed", "refused", "error")
DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
HEARTBEAT_WINDOW = timedelta(hours=1)


def record_submit(result: str) -> None:
    """Count one submit with ``result`` (one of SUBMIT_RESULTS) in the shared cache."""
    key = f"studio:metrics:submits:{result}"
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # noqa: BLE001 - a cache outage never fails a submit
        logger.warning("could not count a submit", exc_info=True)


def runs_by_status():
    family = GaugeMetricFamily("studio_runs", "Pipeline runs by status.", labels=["status"])
    counts = dict(PipelineRun.objects.order_by().values_list("status").annotate(n=Count("id")))
    for status in RunStatus.values:
        family.add_metric([status], counts.get(status, 0))
    return family


def queue_depths():
    family = GaugeMetricFamily(
        "studio_queue_depth", "Messages waiting in each broker queue.", labels=["queue"]
    )
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0.2)
        for queue in app.amqp.queues:
            channel = connection.channel()  # a refused passive declare closes its channel
            try:
                depth = channel.queue_declare(queue=queue, passive=True).message_count
            except Exception:  # noqa: BLE001 - never declared or emptied away: nothing waits
                depth = 0
            finally:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001
                    pass
            family.add_metric([queue], depth)
    return family


def step_durations():
    ended = StepRun.objects.filter(
        status__in=[RunStatus.FINISHED, RunStatus.FAILED, RunStatus.CANCELED],
        started_at__isnull=False,
        finished_at__isnull=False,
    ).annotate(
        duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    )
    figures = ended.aggregate(
        total=Sum("duration"),
        count=Count("id"),
        **{
            f"le_{i}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(DURATION_BUCKETS)
        },
    )
    buckets = [(str(float(b)), figures[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)]
    buckets.append(("+Inf", figures["count"]))
    total = figures["total"].total_seconds() if figures["total"] else 0.0
    return HistogramMetricFamily(
        "studio_step_duration_seconds",
        "Durations of ended steps (started to finished).",
        buckets=buckets,
        sum_value=total,
    )


def submits():
    family = CounterMetricFamily(
        "studio_submits", "Submits by result since the cache was last cleared.",
        labels=["result"],
    )  # fmt: skip
    counts = cache.get_many([f"studio:metrics:submits:{r}" for r in SUBMIT_RESULTS])
    for result in SUBMIT_RESULTS:
        family.add_metric([result], counts.get(f"studio:metrics:submits:{result}", 0))
    return family


def workers():
    """The worker families, from the workers' own heartbeats of the last hour."""
    ages = GaugeMetricFamily(
        "studio_worker_heartbeat_age_seconds",
        "Seconds since each worker's last heartbeat (workers not stopped, seen in the last hour).",
        labels=["worker"],
    )
    states = GaugeMetricFamily(
        "studio_workers",
        "Workers seen in the last hour: alive, stale (unseen for 3 heartbeat intervals) or "
        "stopped.",
        labels=["state"],
    )
    now = timezone.now()
    counts = dict.fromkeys(WorkerState.values, 0)
    for worker in WorkerHeartbeat.objects.filter(seen_at__gte=now - HEARTBEAT_WINDOW):
        state = worker.state(now)
        counts[state] += 1
        if state != WorkerState.STOPPED:
            ages.add_metric([worker.name], worker.age(now))
    for state, count in counts.items():
        states.add_metric([state], count)
    return [ages, states]


class StudioCollector:
    """Reads every figure on each scrape; a broker that does not answer drops only the
    queue depths."""

    def collect(self):
        yield runs_by_status()
        try:
            yield queue_depths()
        except Exception:  # noqa: BLE001 - the rest of the figures are still worth having
            logger.warning("could not read queue depths from the broker", exc_info=True)
        yield step_durations()
        yield submits()
        yield from workers()


def scraper_allowed(request) -> bool:
    token = settings.STUDIO_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        return secrets.compare_digest(sent.encode(), f"Bearer {token}".encode())
    try:
        local = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        local = False
    return local and "X-Forwarded-For" not in request.headers


def metrics(request):
    """The Prometheus text exposition; 404 unless enabled, 403 for other scrapers."""
    if not settings.STUDIO_METRICS_ENABLED:
        raise Http404("Metrics are not enabled (STUDIO_METRICS_ENABLED).")
    if not scraper_allowed(request):
        return HttpResponse(
            "Send Authorization: Bearer <STUDIO_METRICS_TOKEN>, or scrape from this machine "
            "when no token is set.\n",
            status=403,
            content_type="text/plain",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
