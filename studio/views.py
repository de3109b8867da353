"""Sign-in, sign-out, the workspace switcher and the health check."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import CurrentWorkspaceMiddleware
from .models import Membership


def home(request):
    return redirect("endpoints:endpoint_list")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
@require_POST
def switch_workspace(request):
    """Make another of the user's workspaces the current one."""
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a workspace.")
    if not Membership.objects.filter(user=request.user, workspace_id=workspace_id).exists():
        return HttpResponseBadRequest("You are not a member of that workspace.")
    request.session[CurrentWorkspaceMiddleware.SESSION_KEY] = workspace_id
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return redirect(target)
