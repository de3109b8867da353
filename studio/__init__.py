"""Pipeline Studio project package: settings, URLs, the Celery app, workspaces and sign-in."""

from .celery import app as celery_app

__all__ = ["celery_app"]
