"""Studio-styled 403, 404 and 500 pages."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_a_reader_gets_the_styled_403_with_the_layout(client, team):
    client.force_login(team.reader)
    response = client.get(reverse("workspace_members"))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="sidenav"' in html and "studio.css" in html
    assert "You do not have permission to see this" in html
    assert "Your role in Team is Reader" in html


def test_an_unknown_page_gets_the_styled_404(client, team):
    client.force_login(team.reader)
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404 and "There is nothing here" in html
    assert "<code>/no/such/page/</code>" in html and 'class="sidenav"' in html


def test_the_500_page_renders_without_context_or_database(django_assert_num_queries):
    request = RequestFactory().get("/boom/")
    with django_assert_num_queries(0):
        response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and "studio.css" in html
