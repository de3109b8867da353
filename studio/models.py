"""Workspaces, memberships and roles, API tokens and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from core.actors import actor_label, actor_user
from core.sql import fetch_one, load_joined, table


class Role(models.TextChoices):
    """A member's role in a workspace. Each role may do all that the ones below it may."""

    READER = "reader", "Reader"
    CONTRIBUTOR = "contributor", "Contributor"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        """Order of roles: Reader < Contributor < Admin; unknown roles rank lowest."""
        return {cls.READER: 1, cls.CONTRIBUTOR: 2, cls.ADMIN: 3}.get(role, 0)

    @classmethod
    def at_least(cls, role: str, needed: str) -> bool:
        """True when ``role`` may do what ``needed`` may."""
        return cls.rank(role) >= cls.rank(needed) > 0


class Workspace(models.Model):
    """A team's space; every pipeline, run and endpoint belongs to exactly one."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def create_with_admin(cls, name: str, slug: str, admin) -> Workspace:
        """A new workspace with ``admin`` as its first Admin (one transaction, one audit
        event); MembershipError when the name or slug is taken."""
        with transaction.atomic():
            if cls.objects.filter(models.Q(name=name) | models.Q(slug=slug)).exists():
                raise MembershipError(f"A workspace named '{name}' or '{slug}' already exists.")
            workspace = cls.objects.create(name=name, slug=slug)
            workspace.memberships.create(user=admin, role=Role.ADMIN)
            AuditEvent.record(
                workspace, None, "workspace.created", workspace, admin=admin.get_username()
            )
        return workspace

    def role_of(self, user) -> str | None:
        """The role of ``user`` here, or None when not a member."""
        if user is None or not user.is_authenticated:
            return None
        membership = self.memberships.filter(user=user).only("role").first()
        return membership.role if membership else None

    def add_member(self, user, role: str, *, by=None) -> Membership:
        """Make ``user`` a member with ``role``; MembershipError when already one."""
        if role not in Role.values:
            raise MembershipError(f"Unknown role '{role}'.")
        with transaction.atomic():
            Workspace.objects.select_for_update().filter(pk=self.pk).first()
            if self.memberships.filter(user=user).exists():
                raise MembershipError(f"{user.get_username()} is already a member.")
            membership = self.memberships.create(user=user, role=role)
            AuditEvent.record(self, by, "member.added", membership, role=role)
        return membership


class Membership(models.Model):
    """A user's role in one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_once"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]
        ordering = ["workspace", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"

    def change_role(self, role: str, *, by=None) -> None:
        """Give the member another role. The last Admin of a workspace cannot be demoted."""
        if role not in Role.values:
            raise MembershipError(f"Unknown role '{role}'.")
        with transaction.atomic():
            current = self._locked_for_change()
            if current.role == role:
                return
            if current.role == Role.ADMIN:
                self._refuse_if_last_admin("demoted")
            Membership.objects.filter(pk=self.pk).update(role=role)
            self.role = role
            AuditEvent.record(
                self.workspace, by, "member.role_changed", self, old_role=current.role, role=role
            )

    def remove(self, *, by=None) -> None:
        """End the membership. The last Admin of a workspace cannot be removed."""
        with transaction.atomic():
            current = self._locked_for_change()
            if current.role == Role.ADMIN:
                self._refuse_if_last_admin("removed")
            AuditEvent.record(self.workspace, by, "member.removed", self, role=current.role)
            Membership.objects.filter(pk=self.pk).delete()

    def _locked_for_change(self) -> Membership:
        # Changes of one workspace's members queue behind a lock on the workspace row, so two
        # Admins demoting each other at once cannot both succeed.
        Workspace.objects.select_for_update().filter(pk=self.workspace_id).first()
        current = Membership.objects.filter(pk=self.pk).first()
        if current is None:
            raise MembershipError(f"{self.user.get_username()} is no longer a member.")
        return current

    def _refuse_if_last_admin(self, change: str) -> None:
        admins = Membership.objects.filter(workspace_id=self.workspace_id, role=Role.ADMIN)
        if not admins.exclude(pk=self.pk).exists():
            raise LastAdminError(
                f"{self.user.get_username()} is the last Admin of {self.workspace.name} and "
                f"cannot be {change}. Make another member an Admin first."
            )


class MembershipError(ValueError):
    """A change of members that is not allowed; the message says why."""


class LastAdminError(MembershipError):
    """Every workspace keeps at least one Admin."""


class Identity(models.Model):
    """A user's account at Microsoft Entra ID: how a sign-in finds the studio user again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities"
    )
    tenant_id = models.CharField(max_length=64)
    # The "oid" claim: stable for the person, unlike names and e-mail addresses.
    object_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "object_id"], name="identity_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.tenant_id}/{self.object_id})"


class UserSession(models.Model):
    """A signed-in browser session, remembered so that "sign out everywhere" can end them all."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user} since {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def remember(cls, user, session_key: str) -> None:
        """Note a new session of ``user`` (and forget ones older than the session lifetime)."""
        too_old = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
        cls.objects.filter(user=user, created_at__lt=too_old).delete()
        cls.objects.update_or_create(session_key=session_key, defaults={"user": user})

    @classmethod
    def end_all(cls, user) -> int:
        """End every session of ``user`` on every device; returns how many were ended."""
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        keys = list(cls.objects.filter(user=user).values_list("session_key", flat=True))
        for key in keys:
            store.delete(key)
        cls.objects.filter(user=user).delete()
        return len(keys)


def hash_token(secret: str) -> str:
    """The stored form of an API token secret (the secret itself is never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token scoped to one workspace with a role. Only its hash is stored."""

    PREFIX = "pst_"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    token_hash = models.CharField(max_length=64, unique=True)
    # First characters of the secret, shown in lists so people can tell tokens apart.
    hint = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="token_role_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def acting_for(self):
        """The user a token acts for in ``*_by`` columns: its creator (see core.actors)."""
        return self.created_by

    @property
    def actor_name(self) -> str:
        """How a token's actions are shown in lists and the audit log."""
        return f"token {self.name}"

    @classmethod
    def issue(
        cls,
        workspace: Workspace,
        *,
        name: str,
        role: str,
        created_by=None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token; returns it and its secret, which is shown once and never again.

        Writes the "token.created" audit event, with ``created_by`` as the actor.
        """
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = cls.objects.create(
                workspace=workspace,
                name=name,
                role=role,
                token_hash=hash_token(secret),
                hint=secret[: len(cls.PREFIX) + 6],
                created_by=created_by,
                expires_at=expires_at,
            )
            AuditEvent.record(workspace, created_by, "token.created", token, role=role)
        return token, secret

    @classmethod
    def authenticate(cls, secret: str) -> ApiToken | None:
        """The usable token with this secret (not revoked, not expired), or None."""
        if not secret or not secret.startswith(cls.PREFIX) or len(secret) > 200:
            return None
        token = cls._usable_with_hash(hash_token(secret))
        if token is not None:
            now = timezone.now()
            # Write last-used at most once a minute so a busy caller does not write on every call.
            if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
                cls.objects.filter(pk=token.pk).update(last_used_at=now)
                token.last_used_at = now
        return token

    @classmethod
    def _usable_with_hash(cls, token_hash: str) -> ApiToken | None:
        """The token with this hash, not revoked and not expired, with its workspace and its
        creator, in one hand-written query: this runs on every API call (see core.sql)."""
        from django.contrib.auth import get_user_model  # the user model is known only at run time

        tokens, workspaces, users = table(cls), table(Workspace), table(get_user_model())
        row = fetch_one(
            f"SELECT {tokens.columns('t')}, {workspaces.columns('w')}, {users.columns('u')} "
            f"FROM {tokens.name} t JOIN {workspaces.name} w ON w.id = t.workspace_id "
            f"LEFT JOIN {users.name} u ON u.id = t.created_by_id "
            "WHERE t.token_hash = %s AND t.revoked_at IS NULL "
            "AND (t.expires_at IS NULL OR t.expires_at > %s)",
            [token_hash, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        if row is None:
            return None
        token, token.workspace, token.created_by = load_joined(row, tokens, workspaces, users)
        return token

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def revoke(self, *, by=None) -> None:
        """Revoke the token at once; later calls with it get 401."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
            AuditEvent.record(self.workspace, by, "token.revoked", self, role=self.role)


class AuditEvent(models.Model):
    """Who did what to which object, and when."""

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who acted, as shown: a user name, or "token <name>" for an API token without a user.
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="audit_ws_time"),
            models.Index(fields=["workspace", "action", "-created_at"], name="audit_ws_action"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
        )

    @classmethod
    def visible_in(cls, workspace: Workspace) -> models.QuerySet:
        """The workspace's events, and the sign-ins (they have no workspace) of its members."""
        members = Membership.objects.filter(workspace=workspace).values("user_id")
        return cls.objects.filter(
            models.Q(workspace=workspace) | models.Q(workspace__isnull=True, actor__in=members)
        )

    @classmethod
    def record(cls, workspace, actor, action: str, obj=None, **details) -> AuditEvent:
        """Write one audit event. ``actor`` is a user, an ApiToken, or None (the system)."""
        return cls.objects.create(
            workspace=workspace,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
            action=action,
            object_type=type(obj).__name__ if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:300] if obj is not None else "",
            details=details,
        )
