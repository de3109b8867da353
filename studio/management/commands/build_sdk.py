"""``manage.py build_sdk [--dependencies]``: build the SDK wheel the studio serves at /sdk/
ahead of time, and with ``--dependencies`` keep its dependencies' wheels beside it."""

from django.core.management.base import BaseCommand, CommandError

from studio import sdk_dist


class Command(BaseCommand):
    help = (
        "Build the wheel of this studio's SDK into STUDIO_SDK_WHEEL_DIR (else built on first "
        "use); --dependencies also downloads the wheels of its dependencies, so that pip "
        "needs no index but the studio's."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dependencies",
            action="store_true",
            help="also download the SDK's dependencies (requests, pathspec and theirs)",
        )

    def handle(self, *args, **options):
        try:
            self.stdout.write(str(sdk_dist.wheel_path()))
            if options["dependencies"]:
                for path in sdk_dist.download_dependencies():
                    self.stdout.write(str(path))
        except sdk_dist.SdkBuildError as exc:
            raise CommandError(f"Building the SDK's wheels failed:\n{exc}") from exc
