"""Create the demo workspace and people, and publish the example pipeline behind an endpoint
with one finished run, reusing whatever already exists."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from endpoints.demo import seed_demo_pipeline
from studio.management.commands.runstudio import DEFAULT_BIND, studio_address
from studio.models import Membership, Role, Workspace

DEMO_WORKSPACE = "Demo"
DEMO_PEOPLE = [
    # username, password, role
    ("admin", "admin-demo-password", Role.ADMIN),
    ("reader", "reader-demo-password", Role.READER),
]


class Command(BaseCommand):
    help = "Create the demo workspace with a demo admin and a demo reader (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        with transaction.atomic():
            workspace, _ = Workspace.objects.get_or_create(
                slug="demo", defaults={"name": DEMO_WORKSPACE}
            )
            for username, password, role in DEMO_PEOPLE:
                user, created = User.objects.get_or_create(username=username)
                if created:
                    user.set_password(password)
                    user.is_staff = role == Role.ADMIN
                    user.is_superuser = role == Role.ADMIN
                    user.save()
                Membership.objects.get_or_create(
                    workspace=workspace, user=user, defaults={"role": role}
                )
        seed_demo_pipeline(workspace, stdout=self.stdout)
        address = os.environ.get("STUDIO_ADDRESS") or studio_address(
            os.environ.get("STUDIO_BIND", DEFAULT_BIND)
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Pipeline Studio: {address}"))
        for username, password, role in DEMO_PEOPLE:
            self.stdout.write(f"  {role.label:<7} sign-in: {username} / {password}")
        self.stdout.write("")
