"""The test suite's settings: the product's, with a var folder of the suite's own.

A running studio (``make run``) keeps its SQLite database, embedded broker, media and work
folder in ``var/``; the suite must never share them (a test worker would take the product's
messages, a purge would drop them). pytest-django imports this module before any conftest,
so the folder is chosen here: ``STUDIO_TEST_VAR_DIR``, else ``var/test/``. ``MEDIA_ROOT`` and
``STUDIO_WORK_DIR`` set for a product are ignored: both follow the test folder. Worker
subprocesses get the same folder (tests/fixtures/worker.py). With ``CELERY_BROKER_URL`` set
(CI), point it at a broker database of the suite's own.
"""

import os
from pathlib import Path

TEST_VAR_DIR = os.environ.get("STUDIO_TEST_VAR_DIR") or str(
    Path(__file__).resolve().parent.parent / "var" / "test"
)
os.environ["STUDIO_VAR_DIR"] = TEST_VAR_DIR
for name in ("MEDIA_ROOT", "STUDIO_WORK_DIR"):
    os.environ.pop(name, None)

from studio.settings import *  # noqa: E402, F403

# The suite reaches no package index through the studio's: /sdk/simple/ answers 404 for names it
# does not hold. The tests of the redirect to an upstream index set one themselves.
SDK_UPSTREAM_INDEX = ""
