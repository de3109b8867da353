"""Issue an API token from the command line; the secret is printed once and never stored."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from studio.models import ApiToken, Role, Workspace


class Command(BaseCommand):
    help = (
        "Create an API token for a workspace and print its secret (shown only this once). "
        "Example: manage.py create_token --workspace demo --role contributor --name ci"
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug (or exact name).")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="command line", help="Shown in the token list.")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until it expires (default never)."
        )

    def handle(self, *args, workspace, role, name, expires_days, **options):
        found = Workspace.objects.filter(slug=workspace).first()
        found = found or Workspace.objects.filter(name=workspace).first()
        if found is None:
            known = ", ".join(Workspace.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No workspace '{workspace}' (known slugs: {known}).")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name needs 1 to 100 characters.")
        expires_at = None
        if expires_days is not None:
            if not 1 <= expires_days <= 3650:
                raise CommandError("--expires-days must be between 1 and 3650.")
            expires_at = timezone.now() + timedelta(days=expires_days)
        token, secret = ApiToken.issue(found, name=name, role=role, expires_at=expires_at)
        self.stderr.write(
            f"Token '{token.name}' ({token.get_role_display()}) for workspace {found.slug}"
            + (f", expires {expires_at:%Y-%m-%d}" if expires_at else ", never expires")
            + ". Keep the secret below; it is not shown again."
        )
        self.stdout.write(secret)
