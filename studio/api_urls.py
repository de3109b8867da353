"""The REST API under /api/v1/ (django-ninja); see studio/api.py."""

from django.urls import path

from .api import api

urlpatterns = [path("", api.urls)]
