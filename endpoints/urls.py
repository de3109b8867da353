from django.urls import path

from . import views

app_name = "endpoints"

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
]
