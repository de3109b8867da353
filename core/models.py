"""The status switch shared by published pipelines and pipeline endpoints.

One vocabulary (:class:`EntityStatus`: Active or Disabled; the cloud SDK's "archive" is a
disable), one field, one ``is_active``, one check constraint and one way of switching: a
transaction under a row lock with an audit event only when the status really changes.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from .actors import actor_label
from .errors import NotFound

STATUS_REASON_MAX_LENGTH = 500


class EntityStatus(models.TextChoices):
    ACTIVE = "Active", "Active"
    DISABLED = "Disabled", "Disabled"

    @classmethod
    def constraint(cls, name: str) -> models.CheckConstraint:
        """The check constraint keeping ``status`` to these values, named ``name``."""
        return models.CheckConstraint(condition=models.Q(status__in=cls.values), name=name)


class StatusSwitch(models.Model):
    """An object that is Active or Disabled. Subclasses define ``audit_prefix`` (the audit
    action is ``<prefix>.enabled``/``.disabled``) and ``record_event(action, by, **details)``.

    The last change's reason, who made it and when are kept with the status; the reason is
    also written in the audit event.
    """

    Status = EntityStatus

    status = models.CharField(max_length=16, choices=EntityStatus.choices, default="Active")
    updated_at = models.DateTimeField(default=timezone.now)
    status_reason = models.CharField(max_length=STATUS_REASON_MAX_LENGTH, blank=True)
    status_changed_by_label = models.CharField(max_length=200, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    audit_prefix = ""

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status == EntityStatus.ACTIVE

    def disable(self, *, by, reason: str = "") -> None:
        """Stop new runs and hide the object from lists (Admins only), saying why."""
        self._set_status(EntityStatus.DISABLED, by, reason)

    def enable(self, *, by, reason: str = "") -> None:
        """Let the object take runs again (Admins only), optionally saying why."""
        self._set_status(EntityStatus.ACTIVE, by, reason)

    def set_enabled(self, enabled: bool, *, by, reason: str = "") -> None:
        """``enable(by=…)`` or ``disable(by=…)``, for callers that hold the choice as a flag."""
        if enabled:
            self.enable(by=by, reason=reason)
        else:
            self.disable(by=by, reason=reason)

    @classmethod
    def set_enabled_many(cls, workspace, ids, enabled: bool, *, by, reason: str = "") -> list:
        """Enable or disable the objects ``ids`` of ``workspace`` at once: all or nothing, in
        one transaction, an audit event for each that changes. Raises ``NotFound`` naming
        the ids that are not in the workspace, and changes nothing."""
        wanted = sorted(set(ids))
        with transaction.atomic():
            objects = list(
                cls.objects.select_for_update().filter(workspace=workspace, pk__in=wanted)
            )
            missing = sorted(set(wanted) - {obj.pk for obj in objects})
            if missing or not wanted:
                names = ", ".join(str(pk) for pk in missing) or "none given"
                raise NotFound(
                    f"Nothing was changed; not in this workspace: {names}.",
                    [{"field": "ids", "message": f"unknown: {names}"}],
                )
            for obj in objects:
                obj.workspace = workspace
                obj.set_enabled(enabled, by=by, reason=reason)
        return objects

    def record_event(self, action: str, by, **details) -> None:
        raise NotImplementedError

    def _set_status(self, status: str, by, reason: str = "") -> None:
        action = f"{self.audit_prefix}.{'enabled' if status == EntityStatus.ACTIVE else 'disabled'}"
        # Entry points refuse longer reasons with a message; the domain only trims.
        reason = (reason or "").strip()[:STATUS_REASON_MAX_LENGTH]
        fields = ["status", "updated_at", "status_reason", "status_changed_by_label"]
        fields.append("status_changed_at")
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            if locked.status != status:
                locked.status, locked.status_reason = status, reason
                locked.updated_at = locked.status_changed_at = timezone.now()
                locked.status_changed_by_label = actor_label(by)
                locked.save(update_fields=fields)
                locked.record_event(action, by, **({"reason": reason} if reason else {}))
        for name in fields:
            setattr(self, name, getattr(locked, name))
