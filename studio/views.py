"""Sign-in, sign-out, the workspace switcher, members, API tokens, audit log, health check."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.pagination import page_of
from core.params import int_param, local_url
from core.web import absolute_url

from .forms import AddMemberForm, AuditFilterForm, RoleForm, SignInForm, TokenForm
from .middleware import CurrentWorkspaceMiddleware
from .models import ApiToken, AuditEvent, Membership, MembershipError, Role, UserSession
from .permissions import get_for_member, member_required, require_role
from .sdk_dist import install_help

PAGE_SIZE = 50


def home(request):
    return redirect("endpoints:endpoint_list")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if form.has_error("__all__", "throttled") else 400
        return response


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every session of the signed-in user, on every device, this one included."""
    ended = UserSession.end_all(request.user)
    AuditEvent.record(None, request.user, "user.signed_out_everywhere", None, sessions=ended)
    logout(request)
    messages.success(request, "You are signed out on every device.")
    return redirect("login")


@login_required
@require_POST
def switch_workspace(request):
    """Make another of the user's workspaces the current one."""
    workspace_id = int_param(request.POST, "workspace", minimum=1)
    if workspace_id is None:
        return HttpResponseBadRequest("Choose a workspace.")
    if not Membership.objects.filter(user=request.user, workspace_id=workspace_id).exists():
        return HttpResponseBadRequest("You are not a member of that workspace.")
    request.session[CurrentWorkspaceMiddleware.SESSION_KEY] = workspace_id
    return redirect(local_url(request, request.POST.get("next"), "/"))


def _page(request, queryset):
    return page_of(queryset, request.GET.get("page"), per_page=PAGE_SIZE)


def _members_page(request, add_form=None, status=200):
    memberships = Membership.objects.filter(workspace=request.workspace).select_related("user")
    context = {
        "page": _page(request, memberships.order_by("user__username")),
        "add_form": add_form or AddMemberForm(),
        "roles": Role.choices,
    }
    return render(request, "studio/members.html", context, status=status)


@member_required
def members(request):
    require_role(request, Role.ADMIN)
    return _members_page(request)


@member_required
@require_POST
def member_add(request):
    require_role(request, Role.ADMIN)
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        return _members_page(request, form, status=400)
    user = form.cleaned_data["user"]
    try:
        request.workspace.add_member(user, form.cleaned_data["role"], by=request.user)
    except MembershipError as exc:
        form.add_error("user", str(exc))
        return _members_page(request, form, status=409)
    messages.success(request, f"{user.get_username()} is now a member.")
    return redirect("workspace_members")


@member_required
@require_POST
def member_role(request, pk):
    membership = get_for_member(request, Membership.objects.select_related("user"), pk, Role.ADMIN)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles Reader, Contributor or Admin.")
        return _members_page(request, status=400)
    try:
        membership.change_role(form.cleaned_data["role"], by=request.user)
    except MembershipError as exc:
        messages.error(request, str(exc))
        return _members_page(request, status=409)
    messages.success(
        request, f"{membership.user.get_username()} is now {membership.get_role_display()}."
    )
    return redirect("workspace_members" if membership.user != request.user else "home")


@member_required
@require_POST
def member_remove(request, pk):
    membership = get_for_member(request, Membership.objects.select_related("user"), pk, Role.ADMIN)
    try:
        membership.remove(by=request.user)
    except MembershipError as exc:
        messages.error(request, str(exc))
        return _members_page(request, status=409)
    messages.success(request, f"{membership.user.get_username()} is no longer a member.")
    return redirect("workspace_members" if membership.user != request.user else "home")


def _visible_tokens(request):
    """Admins see every token of the workspace; others the ones they made."""
    tokens = ApiToken.objects.filter(workspace=request.workspace).select_related("created_by")
    if not Role.at_least(request.role, Role.ADMIN):
        tokens = tokens.filter(created_by=request.user)
    return tokens


# The secret of a token just created waits here for the one page that shows it.
NEW_TOKEN_SESSION_KEY = "new_token_secret"


@never_cache
@member_required
def tokens(request):
    form = TokenForm(request.POST or None, max_role=request.role)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _, secret = ApiToken.issue(
                request.workspace,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                created_by=request.user,
                expires_at=form.expires_at(),
            )
            # Post/redirect/get: reloading the page neither re-submits nor shows it again.
            request.session[NEW_TOKEN_SESSION_KEY] = secret
            return redirect("workspace_tokens")
        status = 400
    secret = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    context = {
        "page": _page(request, _visible_tokens(request)),
        "form": form,
        "secret": secret,
        "sdk_install": install_help(absolute_url(request, ""), secret or "<your token>"),
    }
    return render(request, "studio/tokens.html", context, status=status)


@member_required
@require_POST
def token_revoke(request, pk):
    token = _visible_tokens(request).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token in this workspace.")
    token.revoke(by=request.user)
    messages.success(request, f"The token '{token.name}' is revoked.")
    return redirect("workspace_tokens")


@member_required
def audit(request):
    require_role(request, Role.ADMIN)
    events = AuditEvent.visible_in(request.workspace)
    form = AuditFilterForm(request.GET, events=events)
    status = 200
    if form.is_valid():
        events = form.filter(events)
    else:
        events, status = events.none(), 400
    context = {"page": _page(request, events), "form": form}
    return render(request, "studio/audit.html", context, status=status)
