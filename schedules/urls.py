from django.urls import path

from . import views

app_name = "schedules"

urlpatterns = [
    path("schedules/", views.schedule_list, name="schedule_list"),
    path("schedules/<int:pk>/", views.schedule_detail, name="schedule_detail"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path(
        "schedules/<int:pk>/pause/",
        views.schedule_set_paused,
        {"action": "pause"},
        name="schedule_pause",
    ),
    path(
        "schedules/<int:pk>/resume/",
        views.schedule_set_paused,
        {"action": "resume"},
        name="schedule_resume",
    ),
    path("schedules/<int:pk>/delete/", views.schedule_delete, name="schedule_delete"),
    path(
        "endpoints/<int:pk>/schedules/",
        views.target_schedules,
        {"kind": "endpoint"},
        name="endpoint_schedules",
    ),
    path(
        "endpoints/<int:pk>/schedules/new/",
        views.schedule_new,
        {"kind": "endpoint"},
        name="endpoint_schedule_new",
    ),
    path(
        "published/<int:pk>/schedules/",
        views.target_schedules,
        {"kind": "published"},
        name="published_schedules",
    ),
    path(
        "published/<int:pk>/schedules/new/",
        views.schedule_new,
        {"kind": "published"},
        name="published_schedule_new",
    ),
]
