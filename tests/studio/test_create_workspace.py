"""`manage.py create_workspace NAME --admin USER`: the first workspace and Admin of a real
deployment, with the password from a file or typed at a prompt that never echoes it."""

import os
import pty
import select
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from studio.models import AuditEvent, Membership, Role, Workspace
from tests.fixtures.worker import worker_environment

PASSWORD = "correct-horse-battery-staple-42"


def password_file(tmp_path, text: str | bytes):
    path = tmp_path / "password"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.django_db
def test_creates_the_workspace_and_its_admin_from_a_password_file(tmp_path, capsys):
    call_command(
        "create_workspace", "Data Science", admin="alice", email="alice@example.com",
        password_file=password_file(tmp_path, PASSWORD + "\n"),
    )  # fmt: skip

    workspace = Workspace.objects.get(slug="data-science")
    alice = get_user_model().objects.get(username="alice")
    assert workspace.name == "Data Science"
    assert alice.check_password(PASSWORD) and alice.email == "alice@example.com"
    assert Membership.objects.get(workspace=workspace, user=alice).role == Role.ADMIN
    assert AuditEvent.objects.filter(workspace=workspace, action="workspace.created").count() == 1
    assert "alice (new user) is its Admin" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_existing_user_becomes_the_admin_without_being_asked_a_password(capsys):
    User = get_user_model()
    grace = User.objects.create_user("grace", email="grace@example.com", password=PASSWORD)
    call_command("create_workspace", "Platform", admin="grace")  # no prompt, no file

    grace.refresh_from_db()
    assert grace.check_password(PASSWORD) and grace.email == "grace@example.com"
    assert Workspace.objects.get(slug="platform").role_of(grace) == Role.ADMIN
    assert User.objects.count() == 1
    assert "grace (existing user, password unchanged) is its Admin" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_existing_workspace_is_a_clear_error_and_nothing_changes(tmp_path):
    Workspace.objects.create(name="Data Science", slug="data-science")
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_workspace", "data science!", admin="bob",
            password_file=password_file(tmp_path, PASSWORD),
        )  # fmt: skip
    assert not get_user_model().objects.filter(username="bob").exists()
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("\nsecond-line-password", "is empty"),
        ("short", "Password refused"),
        ("x" * 5000, "larger than a password"),
        (b"\xff\xfe-not-utf8", "not UTF-8"),
    ],
    ids=["empty", "blank-first-line", "weak", "oversized", "binary"],
)
def test_bad_passwords_are_refused_and_nothing_is_written(tmp_path, content, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "create_workspace", "Team", admin="carol",
            password_file=password_file(tmp_path, content),
        )  # fmt: skip
    assert not Workspace.objects.exists()
    assert not get_user_model().objects.filter(username="carol").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, admin, message",
    [("   ", "dave", "1 to 100 characters"), ("!!!", "dave", "letters or digits"),
     ("x" * 101, "dave", "1 to 100"), ("Team", "bad name/<>", "username")],
)  # fmt: skip
def test_bad_names_are_refused(tmp_path, name, admin, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "create_workspace", name, admin=admin, password_file=password_file(tmp_path, PASSWORD)
        )
    assert not Workspace.objects.exists()


def test_a_missing_password_file_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read --password-file"):
        call_command("create_workspace", "Team", admin="erin", password_file=tmp_path / "nope")


@pytest.mark.django_db(transaction=True)
def test_the_prompted_password_is_never_echoed(tmp_path):
    """A real terminal (pty): the typed password appears nowhere in what the command shows."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "create_workspace", "Ops", "--admin", "frank"],
        env=worker_environment(),
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
    )
    os.close(child)
    shown = b""

    def read_until(text: bytes, timeout: float = 60) -> None:
        nonlocal shown
        deadline = time.monotonic() + timeout
        while text not in shown and time.monotonic() < deadline:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    shown += os.read(main, 4096)
                except OSError:
                    break
        assert text in shown, shown

    read_until(b"Password for frank: ")
    os.write(main, PASSWORD.encode() + b"\n")
    read_until(b"Password (again): ")
    os.write(main, PASSWORD.encode() + b"\n")
    read_until(b"is its Admin")
    assert process.wait(timeout=60) == 0
    os.close(main)

    assert PASSWORD.encode() not in shown
    frank = get_user_model().objects.get(username="frank")
    assert frank.check_password(PASSWORD)
    assert Workspace.objects.get(slug="ops").role_of(frank) == Role.ADMIN
