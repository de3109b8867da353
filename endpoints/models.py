"""Pipeline endpoints: one stable REST endpoint in front of ordered published-pipeline versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pipelines.models import PublishedPipeline
from studio.models import Workspace


class PipelineEndpoint(models.Model):
    """A stable endpoint; versions "0", "1", … in order of addition, one of them the default."""

    class Status(models.TextChoices):
        ACTIVE = "Active", "Active"
        DISABLED = "Disabled", "Disabled"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="pipeline_endpoints"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="endpoint_name_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=["Active", "Disabled"]), name="endpoint_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status", "name"], name="endpoint_ws_list")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class PipelineEndpointVersion(models.Model):
    """One version of an endpoint. Versions never change once added."""

    endpoint = models.ForeignKey(
        PipelineEndpoint, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    published_pipeline = models.ForeignKey(
        PublishedPipeline, on_delete=models.PROTECT, related_name="endpoint_versions"
    )
    is_default = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    added_by_label = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["endpoint", "number"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "number"], name="endpoint_version_unique"),
            models.UniqueConstraint(
                fields=["endpoint"],
                condition=models.Q(is_default=True),
                name="endpoint_one_default_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} v{self.version}"

    @property
    def version(self) -> str:
        """The version string callers use ("0", "1", …)."""
        return str(self.number)
