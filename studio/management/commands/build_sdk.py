"""``manage.py build_sdk``: build the SDK wheel the studio serves at /sdk/ ahead of time."""

from django.core.management.base import BaseCommand, CommandError

from studio import sdk_dist


class Command(BaseCommand):
    help = (
        "Build the wheel of this studio's SDK into STUDIO_SDK_WHEEL_DIR (else built on first use)."
    )

    def handle(self, *args, **options):
        try:
            path = sdk_dist.wheel_path()
        except sdk_dist.SdkBuildError as exc:
            raise CommandError(f"Building the SDK wheel failed:\n{exc}") from exc
        self.stdout.write(str(path))
