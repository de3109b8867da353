"""Pipeline endpoints: one stable REST endpoint in front of ordered published-pipeline versions."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from core.actors import actor_label, actor_user
from core.errors import Conflict, InvalidInput, NotFound
from core.models import EntityStatus, StatusSwitch
from core.sql import MAX_ID, fetch_one, load_joined, table
from pipelines.engine import submit_published_run
from pipelines.models import PublishedPipeline
from studio.models import AuditEvent, Workspace

NAME_MAX_LENGTH = 255


def _version_lookup(version: str | None) -> dict | None:
    """Filter arguments selecting ``version`` ("0", "1", …; None: the default), or None when
    ``version`` cannot name a version."""
    if version is None:
        return {"is_default": True}
    text = str(version).strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return {"number": int(text)}
    return None


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            "An endpoint name needs 1 to 255 characters and no control characters.",
            [{"field": "Name", "message": "needs 1 to 255 characters, no control characters"}],
        )
    return name


class PipelineEndpoint(StatusSwitch):
    """A stable endpoint; versions "0", "1", … in order of addition, one of them the default."""

    audit_prefix = "endpoint"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="pipeline_endpoints"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="endpoint_name_unique"),
            EntityStatus.constraint("endpoint_status_valid"),
        ]
        indexes = [models.Index(fields=["workspace", "status", "name"], name="endpoint_ws_list")]

    def __str__(self) -> str:
        return self.name

    def record_event(self, action: str, by) -> None:
        AuditEvent.record(self.workspace, by, action, self)

    @classmethod
    def publish(
        cls, workspace, *, name: str, description: str = "", published: PublishedPipeline, by
    ) -> PipelineEndpoint:
        """Create an endpoint whose version "0", the default, is ``published``.

        Raises ``Conflict`` when the workspace already has an endpoint of that name.
        """
        name = _clean_name(name)
        try:
            with transaction.atomic():
                endpoint = cls.objects.create(
                    workspace=workspace,
                    name=name,
                    description=description or "",
                    created_by=actor_user(by),
                )
                endpoint.versions.create(
                    number=0,
                    published_pipeline=published,
                    is_default=True,
                    added_by=actor_user(by),
                    added_by_label=actor_label(by),
                )
                AuditEvent.record(
                    workspace, by, "endpoint.published", endpoint, published_pipeline=published.pk
                )
        except IntegrityError:
            raise cls._name_taken(name) from None
        return endpoint

    @staticmethod
    def _name_taken(name: str) -> Conflict:
        return Conflict(
            f"An endpoint named '{name}' already exists in this workspace.",
            [{"field": "Name", "message": "already taken"}],
        )

    def _locked(self) -> PipelineEndpoint:
        return type(self).objects.select_for_update().get(pk=self.pk)

    def add_version(
        self, published: PublishedPipeline, *, by, make_default: bool = False
    ) -> PipelineEndpointVersion:
        """Add ``published`` as the next version ("1", "2", …), optionally as the default."""
        with transaction.atomic():
            self._locked()
            last = self.versions.aggregate(last=Max("number"))["last"]
            if make_default:
                self.versions.filter(is_default=True).update(is_default=False)
            version = self.versions.create(
                number=0 if last is None else last + 1,
                published_pipeline=published,
                is_default=make_default,
                added_by=actor_user(by),
                added_by_label=actor_label(by),
            )
            self._touch()
            AuditEvent.record(
                self.workspace,
                by,
                "endpoint.version_added",
                self,
                version=version.version,
                published_pipeline=published.pk,
                default=make_default,
            )
        return version

    def get_version(self, version: str | None) -> PipelineEndpointVersion:
        """The version called ``version`` ("0", "1", …), or the default when None.

        Raises ``NotFound`` listing the versions that exist.
        """
        lookup = _version_lookup(version)
        found = None
        if lookup is not None:
            found = self.versions.select_related("published_pipeline").filter(**lookup).first()
        if found is None:
            existing = ", ".join(v.version for v in self.versions.order_by("number")) or "none"
            what = "has no default version" if version is None else f"has no version '{version}'"
            raise NotFound(
                f"Endpoint '{self.name}' {what}; its versions are: {existing}.",
                [{"field": "PipelineVersion", "message": f"existing versions: {existing}"}],
            )
        found.endpoint = self
        found.published_pipeline.workspace = self.workspace
        return found

    def set_default_version(self, version: str, *, by) -> PipelineEndpointVersion:
        """Make ``version`` the default (an older one: a rollback). Raises ``NotFound``."""
        with transaction.atomic():
            self._locked()
            chosen = self.get_version(version)
            previous = self.versions.filter(is_default=True).first()
            if previous is None or previous.pk != chosen.pk:
                self.versions.filter(is_default=True).update(is_default=False)
                self.versions.filter(pk=chosen.pk).update(is_default=True)
                chosen.is_default = True
                self._touch()
                AuditEvent.record(
                    self.workspace,
                    by,
                    "endpoint.default_changed",
                    self,
                    previous=previous.version if previous else None,
                    default=chosen.version,
                )
        return chosen

    def rename(self, name: str, *, by) -> None:
        """Give the endpoint a new name, unique in its workspace (else ``Conflict``)."""
        name = _clean_name(name)
        if name == self.name:
            return
        old = self.name
        try:
            with transaction.atomic():
                self.name = name
                self._touch(extra=["name"])
                AuditEvent.record(self.workspace, by, "endpoint.renamed", self, previous=old)
        except IntegrityError:
            self.name = old
            raise self._name_taken(name) from None

    def describe(self, description: str, *, by) -> None:
        """Replace the endpoint's description."""
        if description == self.description:
            return
        with transaction.atomic():
            self.description = description
            self._touch(extra=["description"])
            AuditEvent.record(self.workspace, by, "endpoint.described", self)

    def _touch(self, extra: list[str] | None = None) -> None:
        self.updated_at = timezone.now()
        self.save(update_fields=["updated_at", *(extra or [])])

    def submit(
        self,
        *,
        experiment_name: str,
        parameter_assignments: dict | None = None,
        by,
        run_source: str = "API",
        description: str = "",
        version: str | PipelineEndpointVersion | None = None,
        tags: dict | None = None,
    ):
        """Run ``version`` (None: the default) of this endpoint.

        ``version`` may also be a version of this endpoint already loaded (see
        ``PipelineEndpointVersion.for_submit``). Raises ``Conflict`` when the endpoint is
        disabled or the version's published pipeline is disabled, ``NotFound`` for an unknown
        version, ``ParameterError`` for bad assignments.
        """
        if not self.is_active:
            raise Conflict(
                f"Pipeline endpoint '{self.name}' (id {self.pk}) is disabled (archived); "
                "an Admin must enable it before it takes runs."
            )
        if isinstance(version, PipelineEndpointVersion) and version.endpoint_id == self.pk:
            chosen = version
        else:
            chosen = self.get_version(version)
        return submit_published_run(
            chosen.published_pipeline,
            experiment_name=experiment_name,
            parameter_assignments=parameter_assignments,
            by=by,
            run_source=run_source,
            description=description,
            endpoint=self,
            endpoint_version=chosen.version,
            tags=tags,
        )


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
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
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

    @classmethod
    def for_submit(cls, workspace, endpoint_id: int, version: str | None):
        """The version to run (None: the default) with its endpoint and published pipeline,
        loaded in one query, or None when the endpoint or the version is not there."""
        lookup = _version_lookup(version)
        if lookup is None or not 0 < endpoint_id <= MAX_ID:
            return None
        # Hand-written SQL: this is on every submit (see core.sql). At most one row
        # matches (unique constraints).
        versions, endpoints, published = (
            table(cls),
            table(PipelineEndpoint),
            table(PublishedPipeline),
        )
        ((column, value),) = lookup.items()
        row = fetch_one(
            f"SELECT {versions.columns('v')}, {endpoints.columns('e')}, "
            f"{published.columns('p')} FROM {versions.name} v "
            f"JOIN {endpoints.name} e ON e.id = v.endpoint_id "
            f"JOIN {published.name} p ON p.id = v.published_pipeline_id "
            f"WHERE v.endpoint_id = %s AND e.workspace_id = %s AND v.{column} = %s",
            [endpoint_id, workspace.pk, value],
        )
        if row is None:
            return None
        found, found.endpoint, found.published_pipeline = load_joined(
            row, versions, endpoints, published
        )
        found.endpoint.workspace = workspace
        found.published_pipeline.workspace = workspace
        return found
