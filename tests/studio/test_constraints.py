"""The database itself refuses membership rows that must never exist."""

import pytest
from django.db import IntegrityError, transaction

from studio.models import Membership, Role


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_a_user_is_a_member_of_a_workspace_once(team):
    refused(
        lambda: Membership.objects.create(
            workspace=team.workspace, user=team.admin, role=Role.READER
        )
    )


def test_unknown_role_is_refused(team):
    refused(
        lambda: Membership.objects.create(
            workspace=team.other_workspace, user=team.admin, role="owner"
        )
    )
