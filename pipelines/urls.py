from django.urls import path

from . import monitoring, published_views, views

app_name = "pipelines"

urlpatterns = [
    path("runs/", views.run_list, name="run_list"),
    path("runs/compare/", views.run_compare, name="run_compare"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/resubmit/", views.run_resubmit, name="run_resubmit"),
    path("runs/<int:pk>/rerun/", views.run_rerun, name="run_rerun"),
    path("runs/<int:pk>/steps/<int:step_pk>/log/", views.step_log, name="step_log"),
    path(
        "runs/<int:pk>/steps/<int:step_pk>/outputs/<str:name>/<path:path>",
        views.step_output,
        name="step_output",
    ),
    path("experiments/", views.experiment_list, name="experiment_list"),
    path("experiments/<int:pk>/", views.experiment_detail, name="experiment_detail"),
    path("published/", published_views.published_list, name="published_list"),
    path("published/<int:pk>/", published_views.published_detail, name="published_detail"),
    path(
        "published/<int:pk>/disable/",
        published_views.published_set_status,
        {"enabled": False},
        name="published_disable",
    ),
    path(
        "published/<int:pk>/enable/",
        published_views.published_set_status,
        {"enabled": True},
        name="published_enable",
    ),
    path("published/<int:pk>/submit/", published_views.published_submit, name="published_submit"),
    path("metrics", monitoring.metrics, name="metrics"),
]
