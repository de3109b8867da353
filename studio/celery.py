"""The Celery app shared by the web process, the workers and beat."""

import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqlalchemy

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

# The embedded broker (kombu's SQLAlchemy transport on a SQLite file) polls for new
# messages; transport options do not reach this attribute, so set it on the class.
kombu_sqlalchemy.Transport.polling_interval = 0.05

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
