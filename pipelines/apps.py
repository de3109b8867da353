from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines"

    def ready(self):
        # Registers the engine's Celery tasks in every process, so inline execution (the
        # demo seed) finds them; workers import them anyway.
        from . import tasks  # noqa: F401
