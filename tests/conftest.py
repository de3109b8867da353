"""Shared fixtures. Each area keeps its own fixtures in tests/fixtures/<area>.py."""

import os

# Playwright's sync API runs an event loop in the test thread; Django's async-safety
# check would otherwise refuse database access from live_server tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.people",
    "tests.fixtures.browser",
    "tests.fixtures.api",
    "tests.fixtures.oidc",
    "tests.fixtures.worker",
    "tests.fixtures.sdk",
    "tests.fixtures.sdk_venv",
    "tests.fixtures.pages",
    "tests.fixtures.storage",
    "tests.fixtures.metrics",
]
