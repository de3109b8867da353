"""A light workspace for the engine tests: one contributor, no password hashing to pay for."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from studio.models import Membership, Role, Workspace


@dataclass
class Crew:
    workspace: Workspace
    other_workspace: Workspace
    contributor: object


@pytest.fixture
def crew(db) -> Crew:
    workspace = Workspace.objects.create(name="Engine", slug="engine")
    other = Workspace.objects.create(name="Elsewhere", slug="elsewhere")
    user = get_user_model().objects.create_user("engineer")  # unusable password: no hashing
    Membership.objects.create(workspace=workspace, user=user, role=Role.CONTRIBUTOR)
    return Crew(workspace=workspace, other_workspace=other, contributor=user)
