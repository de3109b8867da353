"""The studio serves its own SDK, without sign-in (it is public code): a page with the install
lines, a PEP 503 simple index for ``pip install --index-url``, and the wheel itself."""

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.web import absolute_url

from . import sdk_dist


@require_safe
def sdk_index(request):
    context = {
        "wheel_name": sdk_dist.WHEEL_NAME,
        "sdk_install": sdk_dist.install_help(absolute_url(request, "")),
    }
    return render(request, "studio/sdk.html", context)


@require_safe
def simple_root(request):
    return render(request, "studio/sdk_simple.html#root", {"name": sdk_dist.DIST_NAME})


@require_safe
def simple_project(request, name):
    if name != sdk_dist.DIST_NAME:
        raise Http404(f"This index holds only {sdk_dist.DIST_NAME}.")
    try:
        sha256 = sdk_dist.wheel_sha256()
    except sdk_dist.SdkBuildError:
        return _not_built()
    context = {
        "name": sdk_dist.DIST_NAME,
        "wheel_name": sdk_dist.WHEEL_NAME,
        "sha256": sha256,
        "requires_python": sdk_dist.REQUIRES_PYTHON,
    }
    return render(request, "studio/sdk_simple.html#project", context)


@require_safe
def wheel(request, file_name):
    if file_name != sdk_dist.WHEEL_NAME:
        raise Http404(f"This studio serves {sdk_dist.WHEEL_NAME}.")
    try:
        path = sdk_dist.wheel_path()
    except sdk_dist.SdkBuildError:
        return _not_built()
    return FileResponse(path.open("rb"), as_attachment=True, filename=file_name)


def _not_built():
    return HttpResponse(
        "The SDK wheel could not be built on this server; the server's log says why.",
        status=503,
        content_type="text/plain",
    )
