"""A property-based fuzz of every operation in /api/v1/openapi.json (schemathesis), one test
per operation so that none can be skipped for lack of time: valid and invalid requests alike
never get a 5xx, every error has the standard shape, every status answered is one the document
lists for the operation, and every operation is sent requests."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from schedules.models import Schedule
from studio.api import api as studio_api

EXAMPLES_PER_OPERATION = 8
PREFIX = "/api/v1"


def operation_labels(schema: dict) -> list[str]:
    return sorted(
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
    )


# The document the API serves, built in-process once (fetching it per test from a busy live
# server can time out); test_every_served_operation_is_fuzzed compares it with the served one.
DOCUMENT = studio_api.get_openapi_schema(path_prefix=PREFIX)
OPERATIONS = operation_labels(DOCUMENT)


def strategy_for(operation):
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # noqa: BLE001 - some operations have no invalid form to generate
            continue
    return st.one_of(*strategies)


def test_every_served_operation_is_fuzzed(api, fast_passwords):
    served = api.get("/openapi.json").json()
    assert operation_labels(served) == OPERATIONS
    assert len(OPERATIONS) >= 38


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_never_answers_5xx(api, studio, tokens, label):
    # Something behind the schedules' id routes too, as the studio fixture has for the others.
    Schedule.create(
        studio.team.workspace,
        studio.published,
        {"Name": "Fuzzed", "ExperimentName": "Fuzz", "Cron": "0 3 * * *"},
        by=studio.team.admin,
    )
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    (operation,) = [
        result.ok()
        for result in schema.get_all_operations()
        if f"{result.ok().method.upper()} {result.ok().path}" == label
    ]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    method, path = label.split(" ", 1)
    documented = set(DOCUMENT["paths"][path][method.lower()]["responses"])
    failures, undocumented, statuses = [], [], Counter()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy_for(operation))
    def check(case):
        response = case.call(base_url=api.base_url, headers=headers, session=api.session)
        statuses[response.status_code // 100 * 100] += 1
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
        elif response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
            assert set(response.json()) == {"error"}, response.text
        # A generated client types only the statuses the document lists for the operation.
        if str(response.status_code) not in documented:
            undocumented.append(f"{case.method} {case.formatted_path}: {response.status_code}")

    check()
    assert failures == []
    assert undocumented == []
    # Hypothesis stops early once an input space is exhausted (GET /health has one request).
    assert statuses.total() >= 1, f"{label} was never sent a request"
