"""Sign-in security: throttling after repeated failures, audit of sign-ins, sign out everywhere."""

import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client

from studio.models import AuditEvent, UserSession
from tests.fixtures.people import PASSWORD
from tests.fixtures.worker import worker_environment

cache = caches["signin"]

pytestmark = pytest.mark.usefixtures("fast_passwords")

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def fresh_counts(db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    cache.clear()
    yield
    cache.clear()


def attempt(client, username, password="wrong password", address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client):
    return "_auth_user_id" in client.session


def test_a_wrong_password_is_400_and_audited(client, team):
    response = attempt(client, "admin-user")
    assert response.status_code == 400
    assert "enter a correct username and password" in response.content.decode()
    event = AuditEvent.objects.get(action="user.sign_in_failed")
    assert (event.actor, event.details["address"]) == (team.admin, "10.0.0.1")


def test_sign_in_is_refused_after_repeated_failures_even_with_the_right_password(client, team):
    for _ in range(3):
        assert attempt(client, "admin-user").status_code == 400
    response = attempt(client, "Admin-User ", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "try again in 15 minutes" in response.content.decode()
    assert not signed_in(client)
    assert not AuditEvent.objects.filter(action="user.signed_in").exists()


def test_the_pause_ends_with_the_window(client, team):
    for _ in range(3):
        attempt(client, "admin-user")
    cache.clear()  # what the window's expiry does
    assert attempt(client, "admin-user", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_resets_the_count_for_that_user(client, team):
    for _ in range(2):
        attempt(client, "admin-user")
    assert attempt(Client(), "admin-user", PASSWORD).status_code == 302
    for _ in range(2):
        attempt(client, "admin-user")
    assert attempt(client, "admin-user", PASSWORD).status_code == 302


def test_other_people_still_sign_in_while_one_name_is_paused(client, team):
    for _ in range(3):
        attempt(client, "admin-user", address="10.0.0.9")
    assert attempt(Client(), "reader-user", PASSWORD, address="10.0.0.2").status_code == 302


def test_one_address_guessing_many_names_is_paused(client, team):
    for n in range(12):
        attempt(client, f"guess{n}")
    response = attempt(client, "reader-user", PASSWORD)
    assert response.status_code == 429
    assert attempt(Client(), "reader-user", PASSWORD, address="10.0.0.2").status_code == 302


def test_a_sign_in_is_audited(client, team):
    assert attempt(client, "reader-user", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action="user.signed_in")
    assert (event.actor, event.details["method"]) == (team.reader, "password")


def test_sign_out_everywhere_ends_every_session_of_the_user(team):
    laptop, phone, someone_else = Client(), Client(), Client()
    for device, person in (
        (laptop, "admin-user"),
        (phone, "admin-user"),
        (someone_else, "reader-user"),
    ):
        assert attempt(device, person, PASSWORD, address="10.0.0.3").status_code == 302
    assert UserSession.objects.filter(user=team.admin).count() == 2
    response = laptop.post("/accounts/logout/everywhere/", follow=True)
    assert "You are signed out on every device." in response.content.decode()
    for device in (laptop, phone):
        assert device.get("/workspaces/tokens/").status_code == 302  # to the sign-in page
    assert someone_else.get("/workspaces/tokens/").status_code == 200
    assert not UserSession.objects.filter(user=team.admin).exists()
    assert AuditEvent.objects.get(action="user.signed_out_everywhere").details == {"sessions": 2}


def test_sign_out_everywhere_needs_post(client, team):
    client.force_login(team.admin)
    assert client.get("/accounts/logout/everywhere/").status_code == 405
    assert client.get("/workspaces/tokens/").status_code == 200


# Another web process: three failed sign-ins through the whole sign-in page.
OTHER_WEB_PROCESS = """
import django
django.setup()
from django.test import Client
client = Client(REMOTE_ADDR="10.0.0.1")
for _ in range(3):
    form = {"username": "admin-user", "password": "wrong password"}
    assert client.post("/accounts/login/", form).status_code == 400
"""


@pytest.mark.django_db(transaction=True)
def test_failures_counted_by_another_web_process_pause_sign_in_here_too(team, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    subprocess.run(
        [sys.executable, "-c", OTHER_WEB_PROCESS],
        env=worker_environment() | {"ALLOWED_HOSTS": "testserver", "LOGIN_FAILURE_LIMIT": "5"},
        cwd=django_settings.BASE_DIR,
        check=True,
        timeout=120,
    )
    client = Client()
    for _ in range(2):
        assert attempt(client, "admin-user").status_code == 400
    # The 6th attempt is refused although this process saw only two failures.
    assert attempt(client, "admin-user", PASSWORD).status_code == 429
    assert not signed_in(client)
