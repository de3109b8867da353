"""Create a workspace and its first Admin for a real deployment.

    manage.py create_workspace "Data Science" --admin alice --email alice@example.com
    manage.py create_workspace "Data Science" --admin alice --password-file /run/secrets/pw

The password is asked twice without echo (getpass) unless --password-file names a file
holding it (its first line). An existing user keeps their password and becomes the Admin.
"""

import getpass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from studio.models import MembershipError, Workspace

MAX_PASSWORD_FILE_BYTES = 4096


class Command(BaseCommand):
    help = "Create a workspace with a first Admin (password prompted, or from a file)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The workspace's name, e.g. 'Data Science'.")
        parser.add_argument("--admin", required=True, help="User name of the first Admin.")
        parser.add_argument("--email", default="", help="The Admin's e-mail (a new user).")
        parser.add_argument(
            "--password-file", type=Path, help="A file whose first line is the password."
        )

    def handle(self, *args, name, admin, email, password_file, **options):
        name, admin = name.strip(), admin.strip()
        slug = slugify(name)[:100]
        if not name or len(name) > 100 or not slug:
            raise CommandError("The name needs 1 to 100 characters, some letters or digits.")
        if Workspace.objects.filter(Q(name=name) | Q(slug=slug)).exists():  # before asking
            raise CommandError(f"A workspace '{name}' (or slug '{slug}') already exists.")
        User = get_user_model()
        user = User.objects.filter(username=admin).first()
        if user is None:
            user = User(username=admin, email=email.strip())
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as error:
                raise CommandError(_messages(error)) from None
            password = self.password(password_file, admin)
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(f"Password refused: {_messages(error)}") from None
            user.set_password(password)
        with transaction.atomic():
            created = user.pk is None
            user.save()
            try:
                workspace = Workspace.create_with_admin(name, slug, user)
            except MembershipError as error:
                raise CommandError(str(error)) from None
        who = "new user" if created else "existing user, password unchanged"
        self.stdout.write(
            self.style.SUCCESS(
                f"Workspace '{workspace.name}' ({workspace.slug}) created; "
                f"{user.get_username()} ({who}) is its Admin."
            )
        )

    def password(self, password_file: Path | None, admin: str) -> str:
        if password_file is not None:
            try:
                with password_file.open("rb") as handle:
                    raw = handle.read(MAX_PASSWORD_FILE_BYTES + 1)
            except OSError as error:
                raise CommandError(f"Cannot read --password-file: {error.strerror}.") from None
            if len(raw) > MAX_PASSWORD_FILE_BYTES:
                raise CommandError("--password-file is larger than a password can be.")
            try:
                lines = raw.decode("utf-8").splitlines()
            except UnicodeDecodeError:
                raise CommandError("--password-file is not UTF-8 text.") from None
            if not lines or not lines[0]:
                raise CommandError("--password-file is empty: its first line is the password.")
            return lines[0]
        first = getpass.getpass(f"Password for {admin}: ")
        if getpass.getpass("Password (again): ") != first:
            raise CommandError("The two passwords differ; nothing was created.")
        return first


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)
