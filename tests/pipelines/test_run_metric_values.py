"""Each run's latest value per metric name (``RunMetricValue``), which runs tables sort by:
kept as steps log metrics and as steps are reused (both ways the scheduler reuses one), and
built for metrics logged before it existed. No worker: steps' states are set by hand."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from pipelines.metrics import record_metrics
from pipelines.models import Metric, RunMetricValue, RunStatus, StepRun
from pipelines.scheduler import advance_run
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = pytest.mark.django_db

OUTPUTS = {"d": {"path": "outputs/earlier/d", "files": ["data.txt"], "digest": "abc"}}


def values_of(run_id) -> dict:
    """{name: (value, reused)} of a run's stored latest values."""
    rows = RunMetricValue.objects.filter(run_id=run_id)
    return {r.name: (r.value, r.reused) for r in rows}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, {"make.py": "", "use.py": ""})


def two_steps(snap):
    # No test worker takes "gpu": nothing runs, so each step keeps the state a test gives it.
    return [
        step("make", snap, "make.py", [{"parameter": "mode"}], outputs=["d"], compute_target="gpu"),
        step("use", snap, "use.py", [{"data": "d"}], inputs=["d"], compute_target="gpu"),
    ]


def submit_modes(crew, snap, mode: str):
    parameters = [{"name": "mode", "default_value": "a"}]
    run = submit(crew, two_steps(snap), parameters=parameters, assignments={"mode": mode})
    return run, {s.name: s for s in run.steps.all()}


def finish(step_run: StepRun) -> StepRun:
    step_run.status, step_run.outputs = RunStatus.FINISHED, OUTPUTS
    step_run.finished_at = timezone.now()
    step_run.save(update_fields=["status", "outputs", "finished_at"])
    return step_run


@pytest.fixture
def earlier(crew, snap):
    """A run whose two steps finished; "use" logged metrics."""
    run, steps = submit_modes(crew, snap, "a")
    finish(steps["make"])
    advance_run(run.pk)  # "use" becomes Queued
    use = finish(StepRun.objects.get(pk=steps["use"].pk))
    record_metrics(use, [("accuracy", "scalar", 0.5), ("loss", "scalar", 0.4)])
    record_metrics(use, [("accuracy", "scalar", 0.9), ("curve", "list", [1, 2])])
    return run


def test_the_latest_scalar_of_each_name_is_kept_and_text_has_no_number(crew, snap, earlier):
    assert values_of(earlier.pk) == {"accuracy": (0.9, False), "loss": (0.4, False)}
    use = earlier.steps.get(name="use")
    record_metrics(use, [("note", "scalar", "slow disk"), ("ok", "scalar", True)])
    record_metrics(use, [("huge", "scalar", 10**400), ("loss", "scalar", 0.3)])
    assert values_of(earlier.pk) == {
        "accuracy": (0.9, False),
        "loss": (0.3, False),
        "note": (None, False),  # sorts after every number
        "ok": (None, False),
        "huge": (None, False),
    }
    row = RunMetricValue.objects.get(run=earlier, name="loss")
    assert row.workspace_id == crew.workspace.pk
    assert Metric.objects.get(pk=row.metric_id).value == 0.3


def test_a_step_reused_at_submit_carries_the_values_of_the_step_it_reused(crew, snap, earlier):
    later, steps = submit_modes(crew, snap, "a")  # both steps reused as the run is written
    assert steps["use"].reused_from_id == earlier.steps.get(name="use").pk
    assert values_of(later.pk) == {"accuracy": (0.9, True), "loss": (0.4, True)}


def test_a_step_reused_later_by_the_scheduler_carries_them_too(crew, snap, earlier):
    later, steps = submit_modes(crew, snap, "b")  # "make" runs again: another argument
    assert steps["make"].status == RunStatus.QUEUED and not values_of(later.pk)
    finish(steps["make"])  # with the same output as before
    advance_run(later.pk)  # "use" has the same input: reused now
    use = StepRun.objects.get(pk=steps["use"].pk)
    assert use.reused_from_id == earlier.steps.get(name="use").pk
    assert values_of(later.pk) == {"accuracy": (0.9, True), "loss": (0.4, True)}


def test_a_runs_own_value_beats_a_carried_one(crew, snap, earlier):
    later, steps = submit_modes(crew, snap, "b")
    record_metrics(steps["make"], [("accuracy", "scalar", 0.1)])  # its own, before the reuse
    finish(steps["make"])
    advance_run(later.pk)
    assert values_of(later.pk) == {"accuracy": (0.1, False), "loss": (0.4, True)}
    record_metrics(steps["make"], [("loss", "scalar", 0.2)])  # own replaces carried
    StepRun.objects.get(pk=steps["use"].pk).save()  # carrying again changes nothing
    assert values_of(later.pk) == {"accuracy": (0.1, False), "loss": (0.2, False)}


def test_the_migration_builds_the_values_of_earlier_metrics(crew, snap, earlier):
    later, steps = submit_modes(crew, snap, "b")
    record_metrics(steps["make"], [("accuracy", "scalar", 0.1), ("note", "scalar", "x")])
    finish(steps["make"])
    advance_run(later.pk)
    Metric.objects.create(run=later, name="f1", value=0.7)  # a run's metric, no step
    expected = {run.pk: values_of(run.pk) for run in (earlier, later)}
    assert expected[later.pk] == {
        "accuracy": (0.1, False),
        "loss": (0.4, True),
        "note": (None, False),
        "f1": (0.7, False),
    }
    RunMetricValue.objects.all().delete()
    migration = importlib.import_module("pipelines.migrations.0006_run_metric_value")
    migration.backfill(apps, None)
    assert {run.pk: values_of(run.pk) for run in (earlier, later)} == expected
