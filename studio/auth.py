"""Bearer authentication for the REST API: who is calling, in which workspace, with which role.

Two kinds of bearer token are accepted:

- API tokens (``pst_…``), scoped to one workspace with a role (:class:`studio.models.ApiToken`);
- Microsoft Entra ID access tokens, when ``settings.MSAL_CLIENT_ID`` is set. Such a token names
  a user, not a workspace: the caller may choose one with the ``X-Studio-Workspace: <slug>``
  header, otherwise the user's first workspace (by name) is used, with the user's role there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from ninja.security import HttpBearer

from core.errors import ApiError
from core.sql import MAX_ID

from .models import ApiToken, Membership, Role, Workspace

WORKSPACE_HEADER = "X-Studio-Workspace"


@dataclass(frozen=True)
class Principal:
    """The caller of an API request: ``request.auth`` on every authenticated call."""

    workspace: Workspace
    role: str
    user: object | None
    token: ApiToken | None

    @property
    def actor(self):
        """What domain methods take as ``by=``: the API token, or the Entra-signed-in user."""
        return self.token if self.token is not None else self.user

    @property
    def key(self) -> str:
        """A stable name for this caller, e.g. for idempotency keys ("token:3", "user:7")."""
        if self.token is not None:
            return f"token:{self.token.pk}"
        return f"user:{self.user.pk}"

    def load(self, queryset, pk, what: str, role: str = Role.READER):
        """The object ``pk`` of this caller's workspace, after checking the caller's role.

        Unknown ids and objects of other workspaces are both 404, so ids cannot be probed.
        """
        obj = None
        if isinstance(pk, int) and 0 < pk <= MAX_ID:
            if hasattr(queryset, "_default_manager"):
                queryset = queryset._default_manager.all()
            obj = queryset.filter(pk=pk, workspace=self.workspace).first()
        if obj is None:
            raise ApiError(404, "not_found", f"{what} {pk} was not found in this workspace.")
        self.require(role)
        return obj

    def require(self, role: str) -> None:
        """Raise 403 unless this caller's role is at least ``role``."""
        if not Role.at_least(self.role, role):
            raise ApiError(
                403,
                "forbidden",
                f"This needs the {Role(role).label} role; your role is {Role(self.role).label}.",
            )


def authenticate_secret(secret: str, workspace_slug: str | None = None) -> Principal | None:
    """The principal for a bearer secret, or None when it is not valid.

    API tokens carry their own workspace (the header is ignored for them). Entra ID access
    tokens are tried only when Entra sign-in is configured.
    """
    secret = secret.strip()
    if secret.startswith(ApiToken.PREFIX):
        token = ApiToken.authenticate(secret)
        if token is None:
            return None
        return Principal(token.workspace, token.role, token.created_by, token)
    if not settings.MSAL_CLIENT_ID or not secret:
        return None
    from . import entra  # Imported lazily: only deployments with Entra ID need msal/jwt.

    user = entra.authenticate_access_token(secret)
    if user is None:
        return None
    memberships = Membership.objects.filter(user=user).select_related("workspace")
    if workspace_slug:
        membership = memberships.filter(workspace__slug=workspace_slug).first()
        if membership is None:
            raise ApiError(
                403, "not_a_member", f"You are not a member of workspace '{workspace_slug}'."
            )
    else:
        membership = memberships.order_by("workspace__name").first()
        if membership is None:
            raise ApiError(403, "not_a_member", "You are not a member of any workspace.")
    return Principal(membership.workspace, membership.role, user, None)


class BearerAuth(HttpBearer):
    """ninja security scheme: ``Authorization: Bearer <API token or Entra access token>``."""

    def authenticate(self, request, token: str) -> Principal | None:
        return authenticate_secret(token, request.headers.get(WORKSPACE_HEADER))
