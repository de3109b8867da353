"""The status switch shared by published pipelines and pipeline endpoints.

One vocabulary (:class:`EntityStatus`: Active or Disabled; the cloud SDK's "archive" is a
disable), one field, one ``is_active``, one check constraint and one way of switching: a
transaction under a row lock with an audit event only when the status really changes.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone


class EntityStatus(models.TextChoices):
    ACTIVE = "Active", "Active"
    DISABLED = "Disabled", "Disabled"

    @classmethod
    def constraint(cls, name: str) -> models.CheckConstraint:
        """The check constraint keeping ``status`` to these values, named ``name``."""
        return models.CheckConstraint(condition=models.Q(status__in=cls.values), name=name)


class StatusSwitch(models.Model):
    """An object that is Active or Disabled. Subclasses define ``audit_prefix`` (the audit
    action is ``<prefix>.enabled``/``.disabled``) and ``record_event(action, by)``."""

    Status = EntityStatus

    status = models.CharField(max_length=16, choices=EntityStatus.choices, default="Active")
    updated_at = models.DateTimeField(default=timezone.now)

    audit_prefix = ""

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status == EntityStatus.ACTIVE

    def disable(self, *, by) -> None:
        """Stop new runs and hide the object from lists (Admins only)."""
        self._set_status(EntityStatus.DISABLED, by)

    def enable(self, *, by) -> None:
        """Let the object take runs again (Admins only)."""
        self._set_status(EntityStatus.ACTIVE, by)

    def set_enabled(self, enabled: bool, *, by) -> None:
        """``enable(by=…)`` or ``disable(by=…)``, for callers that hold the choice as a flag."""
        if enabled:
            self.enable(by=by)
        else:
            self.disable(by=by)

    def record_event(self, action: str, by) -> None:
        raise NotImplementedError

    def _set_status(self, status: str, by) -> None:
        action = f"{self.audit_prefix}.{'enabled' if status == EntityStatus.ACTIVE else 'disabled'}"
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            if locked.status != status:
                locked.status = status
                locked.updated_at = timezone.now()
                locked.save(update_fields=["status", "updated_at"])
                locked.record_event(action, by)
        self.status, self.updated_at = locked.status, locked.updated_at
