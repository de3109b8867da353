from django.urls import path

from . import views

app_name = "endpoints"

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
    path("endpoints/bulk/", views.bulk_set_status, {"kind": "endpoints"}, name="endpoint_bulk"),
    path("endpoints/<int:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path(
        "endpoints/<int:pk>/versions/",
        views.endpoint_detail,
        {"tab": "versions"},
        name="endpoint_versions",
    ),
    path("endpoints/<int:pk>/runs/", views.endpoint_detail, {"tab": "runs"}, name="endpoint_runs"),
    path(
        "endpoints/<int:pk>/consume/",
        views.endpoint_detail,
        {"tab": "consume"},
        name="endpoint_consume",
    ),
    path(
        "endpoints/<int:pk>/default-version/",
        views.set_default_version,
        name="set_default_version",
    ),
    path(
        "endpoints/<int:pk>/disable/",
        views.endpoint_set_status,
        {"action": "disable"},
        name="endpoint_disable",
    ),
    path(
        "endpoints/<int:pk>/enable/",
        views.endpoint_set_status,
        {"action": "enable"},
        name="endpoint_enable",
    ),
    path("endpoints/<int:pk>/submit/", views.endpoint_submit, name="endpoint_submit"),
    path("published/", views.published_list, name="published_list"),
    path("published/bulk/", views.bulk_set_status, {"kind": "published"}, name="published_bulk"),
    path("published/<int:pk>/", views.published_detail, name="published_detail"),
    path(
        "published/<int:pk>/disable/",
        views.published_set_status,
        {"action": "disable"},
        name="published_disable",
    ),
    path(
        "published/<int:pk>/enable/",
        views.published_set_status,
        {"action": "enable"},
        name="published_enable",
    ),
    path("published/<int:pk>/submit/", views.published_submit, name="published_submit"),
]
