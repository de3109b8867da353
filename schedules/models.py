"""Schedules: runs of a published pipeline or a pipeline endpoint at recurring times.

A schedule's timetable (a recurrence or a cron expression, see :mod:`schedules.timetable`)
gives its slots; :mod:`schedules.firing` turns each due slot into one ``ScheduleFiring``
row, which holds the run it started or why it started none. The database allows one firing
per (schedule, slot).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from core.actors import actor_user
from core.errors import Conflict
from endpoints.models import PipelineEndpoint
from pipelines.models import PipelineRun, PublishedPipeline
from studio.models import AuditEvent, Workspace

from .spec import TIMING_FIELDS, clean_spec, timetable_of
from .timetable import Cron, Recurrence, upcoming


class Schedule(models.Model):
    """Runs of one target (a published pipeline or an endpoint's default version) at the
    slots of a recurrence or a cron expression, in a time zone."""

    class Frequency(models.TextChoices):
        MINUTE = "Minute", "Minute"
        HOUR = "Hour", "Hour"
        DAY = "Day", "Day"
        WEEK = "Week", "Week"
        MONTH = "Month", "Month"

    class CatchUp(models.TextChoices):
        LATEST = "latest", "Fire the latest missed slot"
        NONE = "none", "Skip missed slots"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    published_pipeline = models.ForeignKey(
        PublishedPipeline, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    pipeline_endpoint = models.ForeignKey(
        PipelineEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    experiment_name = models.CharField(max_length=255)
    # The assignments given (type-checked); parameters not named take the target's defaults.
    parameters = models.JSONField(default=dict, blank=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, blank=True)
    interval = models.PositiveIntegerField(default=1)
    start_time = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=list, blank=True)
    minutes = models.JSONField(default=list, blank=True)
    week_days = models.JSONField(default=list, blank=True)
    cron = models.CharField(max_length=120, blank=True)
    catch_up = models.CharField(max_length=8, choices=CatchUp.choices, default=CatchUp.LATEST)
    is_paused = models.BooleanField(default=False)
    # Slots at or before this instant never fire: set when the schedule is created, edited
    # or resumed, so neither old slots nor slots missed while paused start runs.
    fire_after = models.DateTimeField(default=timezone.now)
    # The next slot to look at; the beat's query for due schedules reads only this.
    next_fire_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="schedule_name_unique"),
            models.CheckConstraint(
                condition=models.Q(published_pipeline__isnull=False, pipeline_endpoint__isnull=True)
                | models.Q(published_pipeline__isnull=True, pipeline_endpoint__isnull=False),
                name="schedule_one_target",
            ),
            models.CheckConstraint(
                condition=(models.Q(cron="") & ~models.Q(frequency=""))
                | (~models.Q(cron="") & models.Q(frequency="")),
                name="schedule_recurrence_or_cron",
            ),
            models.CheckConstraint(
                condition=models.Q(catch_up__in=["latest", "none"]), name="schedule_catch_up_valid"
            ),
        ]
        indexes = [models.Index(fields=["is_paused", "next_fire_at"], name="schedule_due")]

    def __str__(self) -> str:
        return self.name

    # --- Reading ---------------------------------------------------------------------

    @property
    def target(self) -> PublishedPipeline | PipelineEndpoint:
        """What the schedule runs."""
        return self.published_pipeline or self.pipeline_endpoint

    @property
    def status(self) -> str:
        """ "Active" or "Paused"."""
        return "Paused" if self.is_paused else "Active"

    def timetable(self) -> Recurrence | Cron:
        """The timetable of the stored fields."""
        return timetable_of({name: getattr(self, name) for name in TIMING_FIELDS})

    def next_fire_times(self, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` slots that will fire (none while paused)."""
        if self.is_paused:
            return []
        start = max(after or timezone.now(), self.fire_after)
        return upcoming(self.timetable(), start, count)

    def describe_timing(self) -> str:
        """The timetable in words, e.g. "every 2 Day at 02:30 (Europe/Berlin)"."""
        if self.cron:
            return f"cron {self.cron} ({self.time_zone})"
        text = f"every {self.interval} {self.frequency}"
        if self.week_days:
            text += " on " + ", ".join(self.week_days)
        if self.hours or self.minutes:
            local = self.start_time.astimezone(self.timetable().zone)
            hours, minutes = self.hours or [local.hour], self.minutes or [local.minute]
            text += " at " + ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        return f"{text} ({self.time_zone})"

    @staticmethod
    def target_graph(target) -> dict:
        """The graph a run of ``target`` would execute now (an endpoint: its default)."""
        if isinstance(target, PipelineEndpoint):
            return target.get_version(None).published_pipeline.graph
        return target.graph

    # --- Changing (one transaction and one audit event each) -----------------------

    @classmethod
    def create(cls, workspace, target, data: dict, *, by) -> Schedule:
        """A new schedule of ``target`` from the REST body's fields ``data`` (Name,
        ExperimentName, ParameterAssignments, Recurrence or Cron, StartTime, TimeZone,
        CatchUp, Description). Raises ``InvalidInput`` naming each bad field and
        ``Conflict`` when the name is taken."""
        fields = clean_spec(data, graph=cls.target_graph(target))
        is_endpoint = isinstance(target, PipelineEndpoint)
        schedule = cls(
            workspace=workspace,
            published_pipeline=None if is_endpoint else target,
            pipeline_endpoint=target if is_endpoint else None,
            created_by=actor_user(by),
            **fields,
        )
        schedule.fire_after = timezone.now()
        schedule._plan_next()
        try:
            with transaction.atomic():
                schedule.save()
                AuditEvent.record(
                    workspace, by, "schedule.created", schedule, target=schedule.target_label
                )
        except IntegrityError:
            raise _name_taken(schedule.name) from None
        return schedule

    def update(self, data: dict, *, by) -> None:
        """Change the fields present in ``data`` (as for :meth:`create`); a changed timetable
        counts its slots from now."""
        fields = clean_spec(data, graph=self.target_graph(self.target), current=vars(self))
        changed = sorted(name for name, value in fields.items() if getattr(self, name) != value)
        if not changed:
            return
        for name in changed:
            setattr(self, name, fields[name])
        if set(changed) & set(TIMING_FIELDS):
            self.fire_after = timezone.now()
        self._plan_next()
        self.updated_at = timezone.now()
        try:
            with transaction.atomic():
                self.save()
                AuditEvent.record(self.workspace, by, "schedule.updated", self, fields=changed)
        except IntegrityError:
            raise _name_taken(self.name) from None

    def pause(self, *, by) -> None:
        """Stop firing until :meth:`resume`; slots passed while paused never fire."""
        self._set_paused(True, "schedule.paused", by)

    def resume(self, *, by) -> None:
        """Fire again from the next slot after now."""
        self._set_paused(False, "schedule.resumed", by)

    def remove(self, *, by) -> None:
        """Delete the schedule and its firings; the runs it started stay."""
        with transaction.atomic():
            AuditEvent.record(self.workspace, by, "schedule.deleted", self)
            self.delete()

    def _set_paused(self, paused: bool, action: str, by) -> None:
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            if locked.is_paused == paused:
                self.is_paused = paused
                return
            locked.is_paused = paused
            if not paused:
                locked.fire_after = timezone.now()
            locked._plan_next()
            locked.updated_at = timezone.now()
            locked.save(update_fields=["is_paused", "fire_after", "next_fire_at", "updated_at"])
            AuditEvent.record(self.workspace, by, action, locked)
        self.is_paused, self.fire_after = locked.is_paused, locked.fire_after
        self.next_fire_at, self.updated_at = locked.next_fire_at, locked.updated_at

    def _plan_next(self) -> None:
        after = max(timezone.now(), self.fire_after)
        self.next_fire_at = None if self.is_paused else self.timetable().next_after(after)

    @property
    def target_label(self) -> str:
        kind = "endpoint" if self.pipeline_endpoint_id else "published pipeline"
        return f"{kind} {self.target}"


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"A schedule named '{name}' already exists in this workspace.",
        [{"field": "Name", "message": "already taken"}],
    )


class ScheduleFiring(models.Model):
    """One slot of a schedule that came due: the run it started, or why it started none."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="firings")
    slot = models.DateTimeField()
    run = models.OneToOneField(
        PipelineRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedule_firing",
    )
    skip_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-slot"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "slot"], name="schedule_firing_once")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} at {self.slot:%Y-%m-%d %H:%M} UTC"
