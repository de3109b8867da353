"""Root URLs: sign-in, the studio pages of each app, the REST API and the admin."""

from django.contrib import admin
from django.urls import include, path

from . import sdk_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("studio.account_urls")),
    path("workspaces/", include("studio.workspace_urls")),
    path("admin/", admin.site.urls),
    path("sdk/", sdk_views.sdk_index, name="sdk_index"),
    path("sdk/simple/", sdk_views.simple_root, name="sdk_simple"),
    path("sdk/simple/<str:name>/", sdk_views.simple_project, name="sdk_simple_project"),
    path("sdk/<str:file_name>", sdk_views.wheel, name="sdk_wheel"),
    path("", include("endpoints.urls")),
    path("", include("pipelines.urls")),
    path("api/v1/", include("studio.api_urls")),
]
