from django.urls import path

from . import views

app_name = "endpoints"

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
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
        {"enabled": False},
        name="endpoint_disable",
    ),
    path(
        "endpoints/<int:pk>/enable/",
        views.endpoint_set_status,
        {"enabled": True},
        name="endpoint_enable",
    ),
    path("endpoints/<int:pk>/submit/", views.endpoint_submit, name="endpoint_submit"),
]
