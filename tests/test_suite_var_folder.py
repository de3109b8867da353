"""The suite never shares files or an embedded broker with a running product (`make run`
keeps its own in var/): tests/settings.py moves everything under var/test/ (or
STUDIO_TEST_VAR_DIR) whatever the product's variables say."""

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.fixtures.worker import worker_environment

ROOT = Path(__file__).resolve().parent.parent
SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "var": str(s.VAR_DIR), "broker": s.CELERY_BROKER_URL, "media": str(s.MEDIA_ROOT),
    "work": str(s.STUDIO_WORK_DIR), "test_db": s.DATABASES["default"]["TEST"]["NAME"],
}))
"""


def suite_settings(**env: str) -> dict:
    """The test settings as they load in an environment set up for the product."""
    product = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "STUDIO_VAR_DIR": "var",
        "MEDIA_ROOT": str(ROOT / "var" / "media"),
        "STUDIO_WORK_DIR": str(ROOT / "var" / "work"),
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**product, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def under(folder: Path) -> dict:
    return {
        "var": str(folder),
        "broker": f"sqla+sqlite:///{folder / 'broker.sqlite3'}",
        "media": str(folder / "media"),
        "work": str(folder / "work"),
        "test_db": str(folder / "test_db.sqlite3"),
    }


def test_the_suite_keeps_its_own_var_folder_whatever_the_product_environment(tmp_path):
    assert suite_settings() == under(ROOT / "var" / "test")
    assert suite_settings(STUDIO_TEST_VAR_DIR=str(tmp_path)) == under(tmp_path)


def test_worker_processes_of_the_suite_get_its_folder():
    assert Path(settings.VAR_DIR) != ROOT / "var"
    assert worker_environment()["STUDIO_VAR_DIR"] == str(settings.VAR_DIR)
