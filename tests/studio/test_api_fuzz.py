"""A bounded property-based fuzz of every operation in /api/v1/openapi.json (schemathesis):
valid and invalid requests alike never get a 5xx, and every error has the standard shape."""

import time
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from schedules.models import Schedule

EXAMPLES_PER_OPERATION = 12
TIME_BUDGET_SECONDS = 90


def strategy_for(operation):
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = []
    for mode in modes:
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # noqa: BLE001 - some operations have no invalid form to generate
            continue
    return st.one_of(*strategies)


def test_no_operation_answers_5xx(api, studio, tokens):
    # Something behind the schedules' id routes too, as the studio fixture has for the others.
    Schedule.create(
        studio.team.workspace,
        studio.published,
        {"Name": "Fuzzed", "ExperimentName": "Fuzz", "Cron": "0 3 * * *"},
        by=studio.team.admin,
    )
    schema = schemathesis.openapi.from_url(api.url("/openapi.json"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 38
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    failures, statuses = [], Counter()

    for operation in operations:
        if time.monotonic() > deadline:
            break

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
            print(
                "DBG", case.method, case.formatted_path, response.status_code, response.text[:150]
            )
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            elif response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
                assert set(response.json()) == {"error"}, response.text

        check()

    assert failures == []
    assert statuses.total() >= len(operations) * 3
    assert statuses[200] > statuses.total() // 10, "the fuzz hardly ever got past validation"
