"""compose.yaml and the Dockerfile, read as `docker compose config` would (no Docker engine
here): per-role health checks, restart policies, volumes for every stateful service, object
storage, and the web health check answering behind a production ALLOWED_HOSTS."""

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
STUDIO_ROLES = ("migrate", "web", "worker", "beat")
STATEFUL = {"db": "/var/lib/postgresql/data", "redis": "/data", "s3": "/data"}


def interpolate(value: str, env: dict | None = None) -> str:
    """compose's ``${NAME:-default}`` and ``${NAME:?message}`` with the variables ``env``."""
    env = env or {}

    def one(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if operator == ":?" and not env.get(name):
            raise AssertionError(f"compose refuses to start without {name}: {argument}")
        return env.get(name) or (argument if operator == ":-" else "")

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, value)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile():
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_each_role_has_its_own_health_check(compose, dockerfile):
    services = compose["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "studio.healthcheck" in web
    worker = " ".join(services["worker"]["healthcheck"]["test"])
    assert "inspect ping -d celery@$$HOSTNAME" in worker
    for role in ("migrate", "beat"):
        assert "healthcheck" not in services[role]
    # No image-wide check that would probe HTTP inside the worker, beat or migrate.
    assert not [line for line in dockerfile if line.startswith("HEALTHCHECK")]


def test_long_running_services_restart_and_migrate_runs_once(compose):
    for name, service in compose["services"].items():
        expected = {"no"} if name in ("migrate", "s3-bucket") else {"unless-stopped", "always"}
        assert service.get("restart") in expected, name


def test_every_stateful_service_keeps_its_data_in_a_named_volume(compose):
    declared = set(compose["volumes"])
    for name, path in STATEFUL.items():
        mounts = [volume.split(":") for volume in compose["services"][name]["volumes"]]
        assert any(source in declared and target == path for source, target in mounts), name
    assert compose["services"]["redis"]["command"][-2:] == ["--appendonly", "yes"]


def test_studio_roles_share_an_s3_store_served_in_compose(compose):
    for role in STUDIO_ROLES:
        env = compose["services"][role]["environment"]
        assert env["STUDIO_STORAGE_BACKEND"] == "storages.backends.s3.S3Storage"
        options = json.loads(interpolate(env["STUDIO_STORAGE_OPTIONS"]))
        assert options["endpoint_url"] == "http://s3:9000"
        assert "MEDIA_ROOT" not in env
        assert compose["services"][role]["depends_on"]["s3-bucket"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize(
    "env", [{}, {"S3_SECRET_KEY": "another-s3-secret"}], ids=["default", "set"]
)
def test_the_studio_roles_use_the_passwords_the_services_were_given(compose, env):
    env = {"SECRET_KEY": "k", "DB_PASSWORD": "a-db-password", **env}
    services = compose["services"]
    db = {k: interpolate(v, env) for k, v in services["db"]["environment"].items()}
    s3 = {k: interpolate(v, env) for k, v in services["s3"]["environment"].items()}
    bucket = {k: interpolate(v, env) for k, v in services["s3-bucket"]["environment"].items()}
    assert db["POSTGRES_PASSWORD"] == "a-db-password"
    assert bucket["S3_SECRET_KEY"] == s3["MINIO_ROOT_PASSWORD"]
    for role in STUDIO_ROLES:
        role_env = services[role]["environment"]
        url = urlsplit(interpolate(role_env["DATABASE_URL"], env))
        assert (url.hostname, url.path) == ("db", f"/{db['POSTGRES_DB']}"), role
        assert (url.username, url.password) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"])
        options = json.loads(interpolate(role_env["STUDIO_STORAGE_OPTIONS"], env))
        assert (options["access_key"], options["secret_key"]) == (
            s3["MINIO_ROOT_USER"],
            s3["MINIO_ROOT_PASSWORD"],
        )


def test_the_compose_worker_takes_every_default_compute_target(compose):
    command = compose["services"]["worker"]["command"]
    assert command[:4] == ["celery", "-A", "studio", "worker"]
    assert "-Q" not in command and "--queues" not in command  # the declared queues: all
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == {"studio", "cpu", "gpu"}


def test_the_studio_user_has_a_writable_home_and_gunicorn_no_control_socket(dockerfile):
    assert "HOME=/home/studio" in " ".join(d for d in dockerfile if d.startswith("ENV"))
    assert any("chown studio:studio /home/studio" in line for line in dockerfile)
    cmd = json.loads(next(line for line in dockerfile if line.startswith("CMD"))[3:])
    assert cmd[0] == "gunicorn" and "--no-control-socket" in cmd


def health_check(url: str, allowed_hosts: str) -> int:
    """The exit code of the web role's container health check against ``url``."""
    return subprocess.run(
        [sys.executable, "-m", "studio.healthcheck", url],
        cwd=ROOT,
        env={"ALLOWED_HOSTS": allowed_hosts, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
    ).returncode


@pytest.mark.django_db
def test_the_web_health_check_passes_a_production_allowed_hosts(live_server, settings):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    assert requests.get(f"{live_server.url}/healthz", timeout=10).status_code == 400
    assert health_check(live_server.url, "studio.example.com,www.example.com") == 0
    assert health_check(live_server.url, ".example.com") == 1  # health.example.com: not listed

    settings.ALLOWED_HOSTS = [".example.com"]
    assert health_check(live_server.url, ".example.com") == 0
    assert health_check("http://127.0.0.1:9", "studio.example.com") == 1  # nothing listens
