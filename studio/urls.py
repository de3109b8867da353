"""Root URLs: sign-in, the studio pages of each app, the REST API and the admin."""

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("studio.account_urls")),
    path("workspaces/", include("studio.workspace_urls")),
    path("admin/", admin.site.urls),
    path("", include("endpoints.urls")),
    path("", include("pipelines.urls")),
    path("", include("schedules.urls")),
    path("api/v1/", include("studio.api_urls")),
]
