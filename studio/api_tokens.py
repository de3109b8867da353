"""REST routes of API tokens and the audit trail (Admins only)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, field_validator

from core.errors import ApiError
from core.sql import MAX_ID

from . import models
from .api_body import Moment
from .api_errors import WRITE_ERRORS, Error
from .api_types import Id
from .models import ApiToken, AuditEvent, Role

router = Router(tags=["tokens"])

# 400, 401 and 500 are declared for every operation (studio.api.StudioAPI).
ADMIN_READ = {403: Error}
ADMIN_WRITE = {
    status: schema for status, schema in WRITE_ERRORS.items() if status not in (404, 409)
}


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")

    Name: str = Field(..., max_length=100)
    Role: models.Role = models.Role.READER
    ExpiresInDays: int | None = Field(None, ge=1, le=3650, description="Absent: never expires.")

    @field_validator("Name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is required")
        return value.strip()


class TokenOut(Schema):
    Id: str
    Name: str
    Role: models.Role
    Hint: str = Field(..., description="The first characters of the secret.")
    CreatedBy: str
    CreatedTime: datetime
    ExpiresTime: datetime | None
    LastUsedTime: datetime | None
    RevokedTime: datetime | None


class NewTokenOut(TokenOut):
    Token: str = Field(..., description="The secret, shown this once and never again.")


class TokenList(Schema):
    Items: list[TokenOut]


def token_out(token: ApiToken) -> dict:
    return {
        "Id": str(token.pk),
        "Name": token.name,
        "Role": token.role,
        "Hint": token.hint,
        "CreatedBy": token.created_by.get_username() if token.created_by else "",
        "CreatedTime": token.created_at,
        "ExpiresTime": token.expires_at,
        "LastUsedTime": token.last_used_at,
        "RevokedTime": token.revoked_at,
    }


@router.get("/tokens", response={200: TokenList, **ADMIN_READ})
def list_tokens(request):
    """The workspace's tokens, newest first (secrets are never shown again)."""
    request.auth.require(Role.ADMIN)
    tokens = ApiToken.objects.filter(workspace=request.auth.workspace).select_related("created_by")
    return {"Items": [token_out(t) for t in tokens]}


@router.post("/tokens", response={201: NewTokenOut, **ADMIN_WRITE})
def create_token(request, payload: TokenIn):
    """Issue a token for this workspace; the response carries its secret once, as ``Token``."""
    principal = request.auth
    principal.require(Role.ADMIN)
    expires_at = None
    if payload.ExpiresInDays is not None:
        expires_at = timezone.now() + timedelta(days=payload.ExpiresInDays)
    token, secret = ApiToken.issue(
        principal.workspace,
        name=payload.Name,
        role=payload.Role,
        created_by=principal.user,
        expires_at=expires_at,
    )
    return Status(201, {**token_out(token), "Token": secret})


@router.post("/tokens/{id}/revoke", response={200: TokenOut, **ADMIN_WRITE, 404: Error})
def revoke_token(request, id: Id):
    """Revoke a token at once: later calls with it get 401."""
    token = request.auth.load(
        ApiToken.objects.select_related("created_by"), id, "Token", Role.ADMIN
    )
    token.revoke(by=request.auth.actor)
    return token_out(token)


class AuditFilters(Schema):
    action: str | None = None
    actor: str | None = None
    since: Moment | None = None
    until: Moment | None = None
    cursor: str | None = Field(None, max_length=200, description="NextCursor of the page before.")
    limit: int = Field(100, ge=1, le=500)


class AuditOut(Schema):
    Id: str
    Action: str
    Actor: str
    ObjectType: str
    ObjectId: str
    Object: str
    Details: dict
    CreatedTime: datetime


class AuditList(Schema):
    Items: list[AuditOut]
    NextCursor: str | None


def _cursor_id(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = 0
    if not 0 < value <= MAX_ID:
        raise ApiError(
            400, "invalid", "The cursor is not valid.", [{"field": "cursor", "message": "unknown"}]
        )
    return value


@router.get("/audit-events", response={200: AuditList, **ADMIN_READ}, tags=["audit"])
def list_audit_events(request, filters: Query[AuditFilters]):
    """Who did what, newest first, one page at a time (``NextCursor``)."""
    request.auth.require(Role.ADMIN)
    events = AuditEvent.visible_in(request.auth.workspace).order_by("-id")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(Q(actor_label=filters.actor) | Q(actor__username=filters.actor))
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    if filters.cursor:
        events = events.filter(pk__lt=_cursor_id(filters.cursor))
    page = list(events[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    next_cursor = None
    if more:
        next_cursor = base64.urlsafe_b64encode(str(page[-1].pk).encode()).decode().rstrip("=")
    return {
        "Items": [
            {
                "Id": str(e.pk),
                "Action": e.action,
                "Actor": e.actor_label,
                "ObjectType": e.object_type,
                "ObjectId": e.object_id,
                "Object": e.object_repr,
                "Details": e.details,
                "CreatedTime": e.created_at,
            }
            for e in page
        ],
        "NextCursor": next_cursor,
    }
