from django.urls import path

from . import views

urlpatterns = [
    path("switch/", views.switch_workspace, name="switch_workspace"),
]
