"""Pipelines, their runs and step runs, metrics, source snapshots and published pipelines.

A pipeline's graph is a JSON document checked by :mod:`pipelines.graph` before it is
stored: parameters with typed defaults, and steps with script, arguments, inputs and
outputs (the data edges), compute target, reuse and timeout. Runs copy the graph they
execute, so later changes never alter history.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from core.actors import actor_label, actor_user
from core.errors import Conflict, InvalidInput
from core.models import EntityStatus, StatusSwitch
from studio.models import AuditEvent, Workspace


class RunStatus(models.TextChoices):
    NOT_STARTED = "NotStarted", "Not started"
    QUEUED = "Queued", "Queued"
    RUNNING = "Running", "Running"
    FINISHED = "Finished", "Finished"
    FAILED = "Failed", "Failed"
    CANCELING = "Canceling", "Canceling"
    CANCELED = "Canceled", "Canceled"

    @classmethod
    def terminal(cls) -> set[str]:
        return {cls.FINISHED, cls.FAILED, cls.CANCELED}

    @classmethod
    def active(cls) -> set[str]:
        return {cls.NOT_STARTED, cls.QUEUED, cls.RUNNING, cls.CANCELING}


class RunSource(models.TextChoices):
    """Where a run came from."""

    API = "API", "API"
    SDK = "SDK", "SDK"
    STUDIO = "Studio", "Studio"
    SCHEDULE = "Schedule", "Schedule"
    RESUBMIT = "Resubmit", "Resubmit"


class MetricKind(models.TextChoices):
    """What a step logged: a scalar, a list, a row of columns, or a tag."""

    SCALAR = "scalar", "Scalar"
    LIST = "list", "List"
    ROW = "row", "Row"
    TAG = "tag", "Tag"


class Experiment(models.Model):
    """A name that groups runs."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="experiment_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class SourceSnapshot(models.Model):
    """A folder of step scripts, uploaded once as a .tar.gz and addressed by its sha256."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="snapshots")
    sha256 = models.CharField(max_length=64)
    archive = models.FileField(upload_to="snapshots/", max_length=300)
    size = models.PositiveBigIntegerField()
    # Relative paths of the regular files in the archive, for validating script names.
    files = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="snapshot_content_unique")
        ]

    def __str__(self) -> str:
        return self.sha256[:12]


class Pipeline(models.Model):
    """A graph of steps, as submitted from the SDK or the API."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    graph = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or f"Pipeline {self.pk}"


class PublishedPipeline(StatusSwitch):
    """An immutable snapshot of a pipeline with its own REST endpoint."""

    audit_prefix = "published_pipeline"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="published_pipelines"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=64, blank=True)
    graph = models.JSONField()
    continue_on_step_failure = models.BooleanField(default=False)
    source_pipeline = models.ForeignKey(
        Pipeline, null=True, blank=True, on_delete=models.SET_NULL, related_name="publications"
    )
    source_run = models.ForeignKey(
        "PipelineRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_by_label = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "status", "-published_at"], name="published_ws_list"),
        ]
        constraints = [
            EntityStatus.constraint("published_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()

    def record_event(self, action: str, by, **details) -> None:
        AuditEvent.record(self.workspace, by, action, self, **details)

    @classmethod
    def publish_from(
        cls,
        source: Pipeline | PipelineRun,
        *,
        name: str,
        description: str = "",
        version: str = "",
        continue_on_step_failure: bool = False,
        by,
    ) -> PublishedPipeline:
        """Publish ``source`` (a pipeline or a run of one), freezing its graph as it is now.

        Raises ``InvalidInput`` naming the field when the name is blank or too long.
        """
        name = (name or "").strip()
        problems = []
        if not name or len(name) > 255:
            problems.append({"field": "Name", "message": "needs 1 to 255 characters"})
        if len(version or "") > 64:
            problems.append({"field": "Version", "message": "at most 64 characters"})
        if problems:
            fields = ", ".join(p["field"] for p in problems)
            raise InvalidInput(f"Cannot publish: {fields} is not valid.", problems)
        from_run = isinstance(source, PipelineRun)
        with transaction.atomic():
            published = cls.objects.create(
                workspace=source.workspace,
                name=name,
                description=description or "",
                version=version or "",
                graph=source.graph,
                continue_on_step_failure=continue_on_step_failure,
                source_pipeline_id=source.pipeline_id if from_run else source.pk,
                source_run=source if from_run else None,
                published_by=actor_user(by),
                published_by_label=actor_label(by),
            )
            AuditEvent.record(
                published.workspace,
                by,
                "published_pipeline.published",
                published,
                source=f"run {source.pk}" if from_run else f"pipeline {source.pk}",
            )
        return published

    def check_active(self) -> None:
        """Raise ``Conflict`` naming this published pipeline when it is disabled."""
        if not self.is_active:
            raise Conflict(
                f"Published pipeline '{self}' (id {self.pk}) is disabled; "
                "an Admin must enable it before it takes runs."
            )


class PipelineRun(models.Model):
    """One execution of a pipeline."""

    Source = RunSource

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="runs")
    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="runs")
    pipeline = models.ForeignKey(
        Pipeline, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    published_pipeline = models.ForeignKey(
        PublishedPipeline, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    pipeline_endpoint = models.ForeignKey(
        "endpoints.PipelineEndpoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    endpoint_version = models.CharField(max_length=16, blank=True)
    # The graph as executed and the resolved parameter values.
    graph = models.JSONField()
    parameters = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.NOT_STARTED
    )
    description = models.TextField(blank=True)
    run_source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    tags = models.JSONField(default=dict, blank=True)
    continue_on_step_failure = models.BooleanField(default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_by_label = models.CharField(max_length=200, blank=True)
    resubmitted_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resubmissions"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="run_ws_time"),
            models.Index(fields=["workspace", "status", "-created_at"], name="run_ws_status"),
            models.Index(fields=["pipeline_endpoint", "-created_at"], name="run_endpoint_time"),
            models.Index(fields=["published_pipeline", "-created_at"], name="run_published_time"),
            models.Index(fields=["experiment", "-created_at"], name="run_experiment_time"),
            models.Index(fields=["status", "dispatched_at"], name="run_status_dispatch"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in RunStatus.terminal()

    def graph_document(self) -> dict:
        """The run's graph. When the run was loaded without it (a 10,000-step graph is
        megabytes), it is read for the caller and not kept on the instance."""
        if "graph" in self.get_deferred_fields():
            return PipelineRun.objects.values_list("graph", flat=True).get(pk=self.pk)
        return self.graph

    def cancel(self, by) -> None:
        """Cancel the run: steps not started become Canceled at once; running steps are
        Canceling until their worker has terminated their processes; the run ends Canceled.

        Canceling again while a cancel is in flight does nothing; a run that has already
        ended raises ``core.errors.Conflict``.
        """
        with transaction.atomic():
            run = PipelineRun.objects.select_for_update().get(pk=self.pk)
            if run.is_terminal:
                raise Conflict(f"Run {run.pk} has already ended ({run.status}); nothing to cancel.")
            if run.status != RunStatus.CANCELING:
                now = timezone.now()
                steps = run.steps.select_for_update()
                steps.filter(status__in=[RunStatus.NOT_STARTED, RunStatus.QUEUED]).update(
                    status=RunStatus.CANCELED,
                    failure_reason="Canceled before it started.",
                    finished_at=now,
                )
                running = steps.filter(status=RunStatus.RUNNING).update(status=RunStatus.CANCELING)
                run.status = RunStatus.CANCELING if running else RunStatus.CANCELED
                run.finished_at = None if running else now
                run.save(update_fields=["status", "finished_at"])
                AuditEvent.record(run.workspace, by, "run.canceled", run)
        self.status, self.finished_at = run.status, run.finished_at

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class StepRun(models.Model):
    """One execution of one step of a pipeline run."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=255)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.NOT_STARTED
    )
    compute_target = models.CharField(max_length=64, default="cpu")
    # How many of the steps it waits for have not Finished yet: each completion counts down
    # only the steps waiting for it, and a step that reaches 0 is ready to start.
    waiting_on = models.IntegerField(default=0)
    # What identifies the work for reuse: snapshot, script, arguments, parameters, inputs.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    argv = models.JSONField(default=list, blank=True)
    # {"output name": {"path": "<storage prefix>", "files": [...], "digest": "<sha256>"}}
    outputs = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True)
    # sha256 of the run token of the current attempt (pipelines.step_tokens); valid only
    # while the step is Running.
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="step_name_unique_in_run")
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="step_status_heartbeat"),
            # "Is any step of this run still to end?" after each completion, and the next
            # Queued step of a run for a worker to go on with, without a scan.
            models.Index(fields=["run", "status", "position"], name="step_run_status"),
            # The steps list, a page at a time in graph order.
            models.Index(fields=["run", "position"], name="step_run_position"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    def save(self, *args, **kwargs):
        """Save; a step saved as reused carries the metrics of the step it reused into its
        run's metric values (see :class:`RunMetricValue`)."""
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if self.reused_from_id is not None and (fields is None or "reused_from" in fields):
            RunMetricValue.carry([self])

    @property
    def is_reused(self) -> bool:
        return self.reused_from_id is not None

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Metric(models.Model):
    """A value logged by a step: a scalar, a list, a row, or a tag.

    Metrics are stored with :meth:`log` (or saved one by one), which also keeps each run's
    latest value per name (:class:`RunMetricValue`) that runs tables show and sort by.
    """

    Kind = MetricKind

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="metrics")
    step_run = models.ForeignKey(
        StepRun, null=True, blank=True, on_delete=models.CASCADE, related_name="metrics"
    )
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SCALAR)
    value = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "name"], name="metric_run_name")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            RunMetricValue.follow([self])

    @classmethod
    def log(cls, metrics: list[Metric]) -> list[Metric]:
        """Store new ``metrics`` in one INSERT and make them their runs' latest values, in
        one transaction."""
        with transaction.atomic():
            created = cls.objects.bulk_create(metrics)
            RunMetricValue.follow(created)
        return created


class RunMetricValue(models.Model):
    """The latest scalar a run has for a metric name: what a runs table's metric column
    sorts by, one indexed row per (run, name) instead of a search through every metric.

    A run's own metrics come first, the latest logged winning; a run without its own value
    for a name has the latest value carried by a step that reused another run's step (the
    metric of the step that ran, ``reused``). ``value`` is the number, or None when that
    scalar is not a number (text, true/false). Kept up to date as metrics are logged
    (:meth:`Metric.log`, ``Metric.save``) and steps reused (``StepRun.save``,
    :meth:`carry`); migration 0006 built the rows of earlier metrics.
    """

    # Both lead their own indexes below (the sort's and the unique one's).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    run = models.ForeignKey(
        PipelineRun, on_delete=models.CASCADE, related_name="metric_values", db_index=False
    )
    name = models.CharField(max_length=255)
    value = models.FloatField(null=True, blank=True)
    # The metric the value is: a later one of the same kind (own or reused) replaces it.
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    reused = models.BooleanField(default=False)

    UPSERT_BATCH = 500  # rows per INSERT: SQLite takes at most 32,766 parameters

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="run_metric_value_unique"),
        ]
        indexes = [
            # Sorting a workspace's runs by a metric walks one of these in value order, ties
            # newest first: backwards for the highest first, forwards for the lowest first.
            models.Index(fields=["workspace", "name", "value", "run"], name="run_metric_high"),
            models.Index(fields=["workspace", "name", "value", "-run"], name="run_metric_low"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} (run {self.run_id})"

    @staticmethod
    def number(value) -> float | None:
        """The number a scalar metric sorts by, or None when it is not a finite number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None

    @classmethod
    def follow(cls, metrics: list[Metric]) -> None:
        """Make the scalars among ``metrics`` (just stored) their runs' latest values."""
        latest: dict[tuple[int, str], Metric] = {}
        for metric in metrics:
            if metric.kind == Metric.Kind.SCALAR:
                key = (metric.run_id, metric.name)
                if key not in latest or latest[key].pk < metric.pk:
                    latest[key] = metric
        cls._upsert([(run_id, name, m.value, m.pk, False) for (run_id, name), m in latest.items()])

    @classmethod
    def carry(cls, steps: list[StepRun]) -> None:
        """Give the runs of reused ``steps`` the latest scalars of the steps they reused, as
        values of their own (a run's own values win), in two queries."""
        sources: dict[int, set[int]] = {}
        for step in steps:
            if step.reused_from_id is not None:
                sources.setdefault(step.reused_from_id, set()).add(step.run_id)
        if not sources:
            return
        scalars = Metric.objects.filter(step_run_id__in=list(sources), kind=Metric.Kind.SCALAR)
        last_ids = scalars.values("step_run_id", "name").annotate(last=models.Max("id"))
        rows = Metric.objects.filter(pk__in=last_ids.values("last")).values_list(
            "pk", "step_run_id", "name", "value"
        )
        cls._upsert(
            [
                (run_id, name, value, pk, True)
                for pk, source, name, value in rows
                for run_id in sorted(sources[source])
            ]
        )

    @classmethod
    def _upsert(cls, items: list[tuple[int, str, object, int, bool]]) -> None:
        """Write (run id, name, value, metric id, reused) items, one per (run, name), where
        each beats the row there: own beats reused, then the later metric wins. One
        statement, so two steps of a run logging at once cannot both lose."""
        best: dict[tuple[int, str], tuple] = {}
        for item in items:  # a statement may not update one row twice
            key, rank = item[:2], (not item[4], item[3])
            if key not in best or (not best[key][4], best[key][3]) < rank:
                best[key] = item
        quote = connection.ops.quote_name
        me, runs = quote(cls._meta.db_table), quote(PipelineRun._meta.db_table)
        row = f"((SELECT workspace_id FROM {runs} WHERE id = %s), %s, %s, %s, %s, %s)"
        chosen = list(best.values())
        for start in range(0, len(chosen), cls.UPSERT_BATCH):
            batch = chosen[start : start + cls.UPSERT_BATCH]
            sql = (
                f"INSERT INTO {me} (workspace_id, run_id, name, value, metric_id, reused) "
                f"VALUES {', '.join([row] * len(batch))} "
                "ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value, "
                "metric_id = excluded.metric_id, reused = excluded.reused "
                f"WHERE ({me}.reused AND NOT excluded.reused) "
                f"OR ({me}.reused = excluded.reused AND {me}.metric_id < excluded.metric_id)"
            )
            params = []
            for run_id, name, value, metric_id, reused in batch:
                params += [run_id, run_id, name, cls.number(value), metric_id, reused]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)


class IdempotencyKey(models.Model):
    """Remembers the run a submit with an ``Idempotency-Key`` created, for 24 hours."""

    # Who sent it: "token:<id>" or "user:<id>"; the same key from another caller is another key.
    principal = models.CharField(max_length=64)
    # Where it was sent: the submit route with its ids (see pipelines.submission).
    route = models.CharField(max_length=255, default="")
    key = models.CharField(max_length=255)
    # sha256 of the request body: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64, default="")
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "route", "key"], name="idempotency_key_unique_per_route"
            )
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class WorkerState(models.TextChoices):
    ALIVE = "alive", "Alive"
    STALE = "stale", "Stale"
    STOPPED = "stopped", "Stopped"


class WorkerHeartbeat(models.Model):
    """One Celery worker of the studio as its main process last reported itself.

    Written when the worker starts and every ``interval`` seconds after, whether or not it
    runs steps, and marked stopped when it shuts down (:mod:`pipelines.worker_heartbeat`).
    A worker killed outright (or whose machine died) just stops writing: it is stale once
    unseen for ``STALE_INTERVALS`` of its own intervals.
    """

    STALE_INTERVALS = 3
    # Rows unseen this long are deleted when a worker starts (names that never come back,
    # such as containers' host names).
    FORGET_AFTER = timedelta(days=7)

    # The Celery node name ("celery@host"), as StepRun.worker names it.
    name = models.CharField(max_length=255, unique=True)
    hostname = models.CharField(max_length=255)
    queues = models.JSONField(default=list, blank=True)
    pid = models.PositiveIntegerField()
    interval = models.FloatField(help_text="Seconds between its heartbeats.")
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def beat(
        cls,
        name: str,
        *,
        hostname: str,
        queues: list[str],
        pid: int,
        interval: float,
        started_at: datetime,
    ) -> None:
        """Record that worker ``name`` is alive now (one UPDATE; the first beat inserts)."""
        fields = {
            "hostname": hostname,
            "queues": sorted(queues),
            "pid": pid,
            "interval": interval,
            "started_at": started_at,
            "seen_at": timezone.now(),
            "stopped_at": None,
        }
        if cls.objects.filter(name=name).update(**fields):
            return
        try:
            with transaction.atomic():
                cls.objects.create(name=name, **fields)
        except IntegrityError:  # another process of the same name inserted it first
            cls.objects.filter(name=name).update(**fields)

    @classmethod
    def mark_stopped(cls, name: str, *, pid: int, started_at: datetime) -> int:
        """Mark the worker ``name`` started at ``started_at`` by ``pid`` stopped (not another
        process that took the name since)."""
        now = timezone.now()
        return cls.objects.filter(
            name=name, pid=pid, started_at=started_at, stopped_at__isnull=True
        ).update(stopped_at=now, seen_at=now)

    @classmethod
    def forget_old(cls) -> int:
        """Delete the rows of workers unseen for ``FORGET_AFTER``."""
        return cls.objects.filter(seen_at__lt=timezone.now() - cls.FORGET_AFTER).delete()[0]

    def state(self, now: datetime) -> str:
        """Stopped (shut down), stale (unseen for STALE_INTERVALS intervals) or alive."""
        if self.stopped_at is not None:
            return WorkerState.STOPPED
        if now - self.seen_at > timedelta(seconds=self.STALE_INTERVALS * self.interval):
            return WorkerState.STALE
        return WorkerState.ALIVE

    def age(self, now: datetime) -> float:
        """Seconds since its last heartbeat."""
        return max(0.0, (now - self.seen_at).total_seconds())
