"""The studio serves its own SDK, without sign-in (it is public code): a page with the install
lines, a PEP 503 simple index for ``pip install --index-url``, and the wheels.

The index holds the SDK and the dependency wheels the studio keeps beside it (``manage.py
build_sdk --dependencies``); pip is sent on to ``STUDIO_SDK_UPSTREAM_INDEX`` for any other
project, so the index line works with or without them. The SDK's own name is never sent on:
no other index can answer for it.
"""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.web import absolute_url

from . import sdk_dist


@require_safe
def sdk_index(request):
    context = {
        "wheel_name": sdk_dist.WHEEL_NAME,
        "sdk_install": sdk_dist.install_help(absolute_url(request, "")),
        "dependencies": sorted(sdk_dist.dependency_wheels()),
        "upstream": settings.SDK_UPSTREAM_INDEX,
    }
    return render(request, "studio/sdk.html", context)


@require_safe
def simple_root(request):
    names = [sdk_dist.DIST_NAME, *sorted(sdk_dist.dependency_wheels())]
    return render(request, "studio/sdk_simple.html#root", {"names": names})


@require_safe
def simple_project(request, name):
    project = sdk_dist.project_name(name)
    if project is None:
        raise Http404("Not a project name.")
    if project == sdk_dist.DIST_NAME:
        try:
            path = sdk_dist.wheel_path()
        except sdk_dist.SdkBuildError:
            return _not_built()
        files = [_file(path, sdk_dist.REQUIRES_PYTHON)]
    elif project in (held := sdk_dist.dependency_wheels()):
        files = [_file(path) for path in held[project]]
    elif settings.SDK_UPSTREAM_INDEX:
        return HttpResponseRedirect(f"{settings.SDK_UPSTREAM_INDEX}/{project}/")
    else:
        raise Http404(f"This index holds only {sdk_dist.DIST_NAME} and its dependencies.")
    return render(request, "studio/sdk_simple.html#project", {"name": project, "files": files})


@require_safe
def wheel(request, file_name):
    if file_name == sdk_dist.WHEEL_NAME:
        try:
            path = sdk_dist.wheel_path()
        except sdk_dist.SdkBuildError:
            return _not_built()
    else:
        held = (p for paths in sdk_dist.dependency_wheels().values() for p in paths)
        path = next((p for p in held if p.name == file_name), None)
        if path is None:
            raise Http404(f"This studio serves {sdk_dist.WHEEL_NAME} and its dependencies.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=file_name)


def _file(path, requires_python: str = "") -> dict:
    return {
        "name": path.name,
        "sha256": sdk_dist.file_sha256(path),
        "requires_python": requires_python,
    }


def _not_built():
    return HttpResponse(
        "The SDK wheel could not be built on this server; the server's log says why.",
        status=503,
        content_type="text/plain",
    )
