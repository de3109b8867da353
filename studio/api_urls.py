"""The REST API under /api/v1/ (django-ninja); see studio/api.py."""

from django.urls import path

from .api import api, unknown_route

urlpatterns = [path("", api.urls), path("<path:rest>", unknown_route)]
