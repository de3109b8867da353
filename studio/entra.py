"""Sign-in with Microsoft Entra ID, and Entra ID access tokens for the REST API.

Sign-in is msal's authorization-code flow (state, nonce and PKCE); msal no longer checks the
ID token it receives, so every token, ID or access, is verified here: signature against the
provider's published keys (cached, refetched on an unknown key id), issuer, audience, expiry.
A person is found again by the token's tenant and object id (``oid``), never by name or e-mail.
"""

from __future__ import annotations

import logging
import threading
import time

import jwt
import msal
import requests
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.params import local_url

from .forms import SignInForm
from .models import Identity, Role, Workspace

log = logging.getLogger(__name__)

FLOW_SESSION_KEY = "entra_flow"
NEXT_SESSION_KEY = "entra_next"
KEYS_MAX_AGE_SECONDS = 24 * 3600
CLOCK_SKEW_SECONDS = 60


class EntraError(Exception):
    """A sign-in or token that cannot be trusted; the message is safe to show to the person."""


def is_enabled() -> bool:
    """True when Entra ID sign-in is configured (client id, secret and authority)."""
    return bool(settings.MSAL_CLIENT_ID and settings.MSAL_CLIENT_SECRET and settings.MSAL_AUTHORITY)


def _http() -> requests.Session:
    session = requests.Session()
    if settings.MSAL_CA_BUNDLE:
        # REQUESTS_CA_BUNDLE in the environment would otherwise win over ``verify``.
        session.trust_env = False
        session.verify = settings.MSAL_CA_BUNDLE
    return session


class ProviderKeys:
    """The authority's discovery document and signing keys, fetched once and kept."""

    def __init__(self, authority: str):
        self.authority = authority.rstrip("/")
        self._lock = threading.Lock()
        self._configuration: dict | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None

    def configuration(self) -> dict:
        if self._configuration is None:
            url = f"{self.authority}/v2.0/.well-known/openid-configuration"
            self._configuration = _get_json(url)
        return self._configuration

    def signing_key(self, kid: str) -> jwt.PyJWK | None:
        """The key with id ``kid``; an unknown id refetches the keys (rate-limited) first."""
        with self._lock:
            age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
            stale = age is None or age >= KEYS_MAX_AGE_SECONDS
            may_refresh = age is None or age >= settings.MSAL_KEYS_MIN_REFRESH_SECONDS
            if stale or (kid not in self._keys and may_refresh):
                self._refetch()
            return self._keys.get(kid)

    def _refetch(self) -> None:
        document = _get_json(self.configuration()["jwks_uri"])
        keys = {}
        for data in document.get("keys", []):
            if data.get("kty") == "RSA" and data.get("kid") and data.get("use", "sig") == "sig":
                keys[data["kid"]] = jwt.PyJWK(data, algorithm="RS256")
        self._keys = keys
        self._fetched_at = time.monotonic()


_providers: dict[tuple[str, str], ProviderKeys] = {}


def provider_keys() -> ProviderKeys:
    """The (process-wide, cached) keys of the configured authority."""
    cache_key = (settings.MSAL_AUTHORITY, settings.MSAL_CA_BUNDLE)
    if cache_key not in _providers:
        _providers[cache_key] = ProviderKeys(settings.MSAL_AUTHORITY)
    return _providers[cache_key]


def _get_json(url: str) -> dict:
    try:
        response = _http().get(url, timeout=10)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("Entra ID provider unreachable at %s: %s", url, type(exc).__name__)
        raise EntraError("Microsoft sign-in is unreachable right now. Try again later.") from exc


def verified_claims(token: str, *, audience: str) -> dict:
    """The claims of a token signed by the configured authority for ``audience``.

    Raises EntraError naming what is wrong: unknown key, bad signature, expired, another
    audience or another issuer.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise EntraError("The token from Microsoft is not a valid JWT.") from exc
    if header.get("alg") != "RS256":
        raise EntraError("The token from Microsoft is not signed with RS256.")
    provider = provider_keys()
    key = provider.signing_key(str(header.get("kid", "")))
    if key is None:
        raise EntraError("The token is signed with a key Microsoft does not publish.")
    # Multi-tenant authorities publish "https://…/{tenantid}/v2.0" as their issuer.
    issuer = provider.configuration()["issuer"].replace("{tenantid}", str(unverified.get("tid")))
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise EntraError("The token from Microsoft has expired. Sign in again.") from exc
    except jwt.InvalidAudienceError as exc:
        raise EntraError("The token from Microsoft was issued for another application.") from exc
    except jwt.InvalidIssuerError as exc:
        raise EntraError("The token was not issued by the configured Microsoft tenant.") from exc
    except jwt.InvalidSignatureError as exc:
        raise EntraError("The token's signature does not match Microsoft's key.") from exc
    except jwt.PyJWTError as exc:
        raise EntraError(f"The token from Microsoft is not valid: {exc}.") from exc


def authenticate_access_token(token: str):
    """The active user an Entra ID access token for the studio's API names, or None.

    Checks signature, issuer, audience (``MSAL_API_AUDIENCE``, default the client id) and
    expiry; the user must have signed in to the studio once (that links the Entra identity).
    """
    if not is_enabled():
        return None
    try:
        claims = verified_claims(
            token, audience=settings.MSAL_API_AUDIENCE or settings.MSAL_CLIENT_ID
        )
    except EntraError as exc:
        log.info("Refused an Entra ID access token: %s", exc)
        return None
    identity = (
        Identity.objects.select_related("user")
        .filter(tenant_id=str(claims.get("tid", "")), object_id=str(claims.get("oid", "")))
        .first()
    )
    if identity is None or not identity.user.is_active:
        return None
    return identity.user


def user_for_claims(claims: dict):
    """The studio user of verified ID-token claims, created on the first sign-in.

    Name and e-mail follow the token on each sign-in; mapped Entra groups grant roles.
    """
    object_id = str(claims.get("oid") or "")
    if not object_id:
        raise EntraError("The token from Microsoft names no user (no oid claim).")
    tenant_id = str(claims.get("tid") or "")
    try:
        return _user_for_identity(tenant_id, object_id, claims)
    except IntegrityError:
        # Another first sign-in of the same person won the race: sign in to that user.
        return _user_for_identity(tenant_id, object_id, claims)


def _user_for_identity(tenant_id: str, object_id: str, claims: dict):
    with transaction.atomic():
        identity = (
            Identity.objects.select_for_update()
            .select_related("user")
            .filter(tenant_id=tenant_id, object_id=object_id)
            .first()
        )
        if identity is None:
            user = get_user_model().objects.create_user(username=_free_username(claims))
            user.set_unusable_password()
            identity = Identity(user=user, tenant_id=tenant_id, object_id=object_id)
        user = identity.user
        if not user.is_active:
            raise EntraError("Your studio account is disabled. Ask an Admin.")
        _copy_profile(user, claims)
        user.save()
        identity.last_sign_in_at = timezone.now()
        identity.save()
        _grant_group_roles(user, claims.get("groups") or [])
    return user


def _free_username(claims: dict) -> str:
    base = str(claims.get("preferred_username") or claims.get("email") or claims["oid"])[:140]
    users = get_user_model().objects
    candidate, n = base, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _copy_profile(user, claims: dict) -> None:
    given, family = claims.get("given_name"), claims.get("family_name")
    if not (given or family) and claims.get("name"):
        given, _, family = str(claims["name"]).partition(" ")
    user.first_name = str(given or "")[:150]
    user.last_name = str(family or "")[:150]
    email = claims.get("email") or claims.get("preferred_username") or ""
    if "@" in str(email):
        user.email = str(email)[:254]


def _grant_group_roles(user, groups: list) -> None:
    """Roles from settings.MSAL_GROUP_ROLES: add the member or raise the role, never lower it."""
    for group in groups:
        if str(group) not in settings.MSAL_GROUP_ROLES:
            continue
        grant = settings.MSAL_GROUP_ROLES[str(group)]
        grant = grant if isinstance(grant, dict) else {}
        workspace = Workspace.objects.filter(slug=grant.get("workspace")).first()
        role = grant.get("role")
        if workspace is None or role not in Role.values:
            log.warning("MSAL_GROUP_ROLES entry for group %s names no workspace or role", group)
            continue
        membership = workspace.memberships.filter(user=user).first()
        if membership is None:
            workspace.add_member(user, role)
        elif Role.rank(role) > Role.rank(membership.role):
            membership.change_role(role)


def _msal_app() -> msal.ConfidentialClientApplication:
    try:
        return msal.ConfidentialClientApplication(
            settings.MSAL_CLIENT_ID,
            client_credential=settings.MSAL_CLIENT_SECRET,
            authority=settings.MSAL_AUTHORITY,
            http_client=_http(),
            instance_discovery=False,
        )
    except (requests.RequestException, ValueError) as exc:
        log.warning("Entra ID authority unusable: %s", type(exc).__name__)
        raise EntraError("Microsoft sign-in is unreachable right now. Try again later.") from exc


def _refuse(request, message: str, status: int = 400):
    context = {"form": SignInForm(request), "entra_error": message}
    return render(request, "registration/login.html", context, status=status)


@require_GET
def sign_in(request):
    """Start "Sign in with Microsoft": remember the flow in the session, go to Microsoft."""
    if not is_enabled():
        return _refuse(request, "Microsoft sign-in is not configured here.", status=404)
    try:
        # The code comes back in the query string (msal's default, which it warns about):
        # a cross-site form_post would arrive without the SameSite=Lax session cookie that
        # holds this flow's state and nonce. PKCE, state and nonce are all checked.
        flow = _msal_app().initiate_auth_code_flow(
            scopes=[], redirect_uri=request.build_absolute_uri(reverse("msal_callback"))
        )
    except EntraError as exc:
        return _refuse(request, str(exc), status=502)
    request.session[FLOW_SESSION_KEY] = flow
    request.session[NEXT_SESSION_KEY] = request.GET.get("next", "")
    return redirect(flow["auth_uri"])


@require_GET
def callback(request):
    """Microsoft sends the browser back here with a code: check it all, then sign in."""
    if not is_enabled():
        return _refuse(request, "Microsoft sign-in is not configured here.", status=404)
    # Taken out of the session first, so the same answer can never be used twice.
    flow = request.session.pop(FLOW_SESSION_KEY, None)
    target = request.session.pop(NEXT_SESSION_KEY, "")
    if request.GET.get("error"):
        return _refuse(request, f"Microsoft did not sign you in ({request.GET['error'][:80]}).")
    if flow is None:
        return _refuse(request, "This sign-in has expired or was already used. Start again.")
    try:
        result = _msal_app().acquire_token_by_auth_code_flow(flow, request.GET.dict())
        if "error" in result:
            raise EntraError(
                f"Microsoft refused the sign-in code ({result['error']}). Start again."
            )
        if "id_token" not in result:
            raise EntraError("Microsoft sent no ID token. Start again.")
        claims = verified_claims(result["id_token"], audience=settings.MSAL_CLIENT_ID)
        user = user_for_claims(claims)
    except ValueError:  # msal: the state in the answer is not the one this browser started.
        return _refuse(
            request, "The answer from Microsoft does not match this sign-in. Start again."
        )
    except RuntimeError:  # msal: the nonce in the ID token is not ours.
        return _refuse(request, "The ID token from Microsoft was not made for this sign-in.")
    except requests.RequestException:
        log.warning("Entra ID token endpoint unreachable")
        return _refuse(request, "Microsoft sign-in is unreachable right now. Try again.", 502)
    except EntraError as exc:
        return _refuse(request, str(exc))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(local_url(request, target, resolve_url(settings.LOGIN_REDIRECT_URL)))
