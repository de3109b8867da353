"""Studio pages answer 400, never 500, to NUL characters and out-of-range numbers."""

import pytest
from django.urls import reverse

from core.params import TEXT_POSITION_MAX
from studio.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, team):
    client.force_login(team.admin)
    return client


@pytest.mark.parametrize(
    "url, query",
    [
        ("/endpoints/", {"q": "\x00"}),
        ("/runs/", {"experiment": "abc\x00"}),
        ("/workspaces/audit/", {"person": "\x00"}),
        ("/endpoints/", {"q\x00": "x"}),
        ("/runs/1/steps/1/outputs/model/a\x00b", {}),
    ],
)
def test_nul_in_a_query_string_or_path_is_400(admin, url, query):
    response = admin.get(url, query)
    assert response.status_code == 400


def test_nul_in_a_form_field_is_400_and_changes_nothing(admin, team):
    response = admin.post(reverse("workspace_tokens"), {"name": "a\x00b", "role": "reader"})
    assert response.status_code == 400
    assert not team.workspace.tokens.exists()


@pytest.mark.parametrize("offset", [str(10**24), str(2**63 - 1), str(TEXT_POSITION_MAX + 1), "x"])
def test_a_log_offset_out_of_range_is_400_naming_it(admin, studio_data, offset):
    run = studio_data.run()
    step = run.steps.first()
    url = reverse("pipelines:step_log", args=[run.pk, step.pk])
    response = admin.get(url, {"offset": offset})
    assert response.status_code == 400
    assert admin.get(url, {"offset": str(TEXT_POSITION_MAX)}).status_code in (200, 286)


@pytest.mark.parametrize("workspace", [str(10**20), str(2**63), "-5", "0", "one"])
def test_switching_to_an_impossible_workspace_id_is_400(admin, team, workspace):
    Membership.objects.create(workspace=team.other_workspace, user=team.admin, role=Role.READER)
    response = admin.post(reverse("switch_workspace"), {"workspace": workspace, "next": "/"})
    assert response.status_code == 400
    assert admin.session.get("workspace_id") is None


@pytest.mark.parametrize("next_url", ["2147483647", "endpoints:endpoint_list", "//evil.example/x"])
def test_a_next_address_that_is_not_a_local_path_goes_to_the_default(admin, team, next_url):
    Membership.objects.create(workspace=team.other_workspace, user=team.admin, role=Role.READER)
    switch = {"workspace": team.other_workspace.pk, "next": next_url}
    assert admin.post(reverse("switch_workspace"), switch).url == "/"
