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

# The engine's safety nets (send runs the broker never got, retry or fail steps whose
# worker died) and the schedules' firing. Each is a cheap query when there is nothing to do.
_interval = float(os.environ.get("STUDIO_SCHEDULER_INTERVAL", "10"))
app.conf.beat_schedule = {
    "dispatch-waiting-runs": {
        "task": "pipelines.tasks.dispatch_waiting_runs",
        "schedule": _interval,
        "options": {"queue": "studio", "expires": _interval},
    },
    # Runs of schedules whose slot came due (one per slot, however many beats call it).
    "fire-due-schedules": {
        "task": "schedules.tasks.fire_due_schedules",
        "schedule": _interval,
        "options": {"queue": "studio", "expires": _interval},
    },
    "reap-lost-steps": {
        "task": "pipelines.tasks.reap_lost_steps",
        "schedule": _interval,
        "options": {"queue": "studio", "expires": _interval},
    },
}
