from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Studio: workspaces, members and tokens"

    def ready(self):
        from . import signin  # noqa: F401  (connects the sign-in signal receivers)
