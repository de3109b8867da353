from django.urls import path

from . import views

app_name = "pipelines"

urlpatterns = [
    path("runs/", views.run_list, name="run_list"),
    path("experiments/", views.experiment_list, name="experiment_list"),
]
