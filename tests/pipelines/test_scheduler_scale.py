"""A step completion touches only the steps that wait for it: its queries, and the step rows
it loads, are the same in a run of 20 steps and in one of 200, and the counts of what each
step waits for start steps exactly when their last upstream step finishes. No worker: steps
are claimed and completed by hand, as a worker does (compute target "gpu", which no test
worker takes)."""

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from pipelines.models import RunStatus, StepRun
from pipelines.scheduler import claim_step, complete_step
from tests.pipelines.builders import make_snapshot, step, submit

pytestmark = pytest.mark.django_db

OUT = {"d": {"path": "runs/x/d", "files": [], "digest": "abc"}}


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, {"s.py": "pass\n"})


def gpu_step(name, snap, label, **extra):
    return step(name, snap, "s.py", [label], compute_target="gpu", **extra)


def claimed(run, name: str) -> StepRun:
    """Step ``name`` of ``run`` claimed by a worker, loaded as a worker loads it."""
    found = StepRun.objects.select_related("run").defer("log", "run__graph")
    found = found.get(run=run, name=name)
    assert claim_step(found, found.attempts + 1, "w@host", ["s.py"])
    return found


def queries_of(call) -> tuple[tuple[int, int], object]:
    """``((queries run, step rows loaded), result)`` of ``call()``."""
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(instance)

    post_init.connect(count, sender=StepRun)
    try:
        with CaptureQueriesContext(connection) as queries:
            result = call()
    finally:
        post_init.disconnect(count, sender=StepRun)
    return (len(queries), len(loaded)), result


def chain_in_wide_run(crew, snap, others: int):
    """``a`` → ``b``, beside ``others`` independent steps."""
    label = f"run-of-{others}"
    steps = [
        gpu_step("a", snap, label, outputs=["d"]),
        gpu_step("b", snap, label, inputs=["d"]),
        *(gpu_step(f"o{i}", snap, label) for i in range(others)),
    ]
    return submit(crew, steps)


def completion_queries(crew, snap, others: int) -> tuple[int, int]:
    run = chain_in_wide_run(crew, snap, others)
    a = claimed(run, "a")
    count, here = queries_of(lambda: complete_step(a, 1, RunStatus.FINISHED, outputs=OUT))
    # "b" became ready and was claimed for this worker at once.
    assert here is not None and here.name == "b"
    b = run.steps.get(name="b")
    assert (b.status, b.attempts, b.worker, b.waiting_on) == (RunStatus.RUNNING, 1, "w@host", 0)
    return count


def test_a_completion_that_starts_a_step_costs_the_same_in_a_run_ten_times_larger(crew, snap):
    small, large = completion_queries(crew, snap, 20), completion_queries(crew, snap, 200)
    assert small == large
    queries, loaded = large
    assert queries <= 10 and loaded == 1  # the one step it started


def independent_completion_queries(crew, snap, size: int) -> tuple[int, int]:
    run = submit(crew, [gpu_step(f"o{i}", snap, f"wide-{size}") for i in range(size)])
    first = claimed(run, "o0")
    count, here = queries_of(lambda: complete_step(first, 1, RunStatus.FINISHED))
    # The worker goes on with another Queued step of the run, the last in graph order (the
    # messages went to the first ones), claimed for it without a broker round trip.
    assert here is not None and here.name == f"o{size - 1}"
    assert run.steps.get(name=here.name).status == RunStatus.RUNNING
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # the other steps are still to run
    return count


def test_a_completion_in_a_wide_run_costs_the_same_whatever_its_width(crew, snap):
    small = independent_completion_queries(crew, snap, 20)
    assert small == independent_completion_queries(crew, snap, 200)
    assert small[1] == 1  # only the step row it goes on with


def fan_in_completion_queries(crew, snap, size: int) -> tuple[int, int]:
    label = f"fan-{size}"
    steps = [gpu_step(f"o{i}", snap, label, outputs=[f"d{i}"]) for i in range(size)]
    steps.append(gpu_step("join", snap, label, inputs=[f"d{i}" for i in range(size)]))
    run = submit(crew, steps)
    first = claimed(run, "o0")
    count, here = queries_of(
        lambda: complete_step(first, 1, RunStatus.FINISHED, outputs={"d0": OUT["d"]})
    )
    assert here is not None and here.name == f"o{size - 1}"  # not the join: it waits
    join = run.steps.get(name="join")
    assert (join.status, join.waiting_on) == (RunStatus.NOT_STARTED, size - 1)
    return count


def test_a_completion_counts_down_a_join_without_reading_its_other_inputs(crew, snap):
    small = fan_in_completion_queries(crew, snap, 20)
    assert small == fan_in_completion_queries(crew, snap, 200)
    assert small[1] == 1


def failure_queries(crew, snap, others: int) -> tuple[int, int]:
    run = chain_in_wide_run(crew, snap, others)
    a = claimed(run, "a")
    count, _ = queries_of(lambda: complete_step(a, 1, RunStatus.FAILED, reason="exit 1"))
    steps = {s.name: s for s in run.steps.all()}
    assert steps["b"].status == RunStatus.CANCELED
    assert steps["b"].failure_reason == "Not run: upstream step 'a' failed."
    assert steps["o0"].status == RunStatus.CANCELED
    assert steps["o0"].failure_reason == "Not run: step 'a' failed."
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == "Step 'a' failed: exit 1"
    return count


def test_a_failure_cancels_the_rest_in_as_many_statements_whatever_the_size(crew, snap):
    assert failure_queries(crew, snap, 20) == failure_queries(crew, snap, 200)


def test_a_step_waiting_for_two_starts_once_both_finished_and_the_run_ends(crew, snap):
    run = submit(
        crew,
        [
            gpu_step("left", snap, "diamond", outputs=["l"]),
            gpu_step("right", snap, "diamond", outputs=["r"]),
            gpu_step("both", snap, "diamond", inputs=["l", "r"]),
        ],
    )
    assert run.steps.get(name="both").waiting_on == 2
    left, right = claimed(run, "left"), claimed(run, "right")
    assert complete_step(left, 1, RunStatus.FINISHED, outputs={"l": OUT["d"]}) is None
    both = run.steps.get(name="both")
    assert (both.status, both.waiting_on) == (RunStatus.NOT_STARTED, 1)
    here = complete_step(right, 1, RunStatus.FINISHED, outputs={"r": OUT["d"]})
    assert here is not None and here.name == "both"
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert complete_step(here, 1, RunStatus.FINISHED) is None
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.finished_at is not None


def test_continue_on_step_failure_cancels_only_what_waits_for_the_failed_step(crew, snap):
    run = submit(
        crew,
        [
            gpu_step("bad", snap, "branches", outputs=["x"]),
            gpu_step("after_bad", snap, "branches", inputs=["x"], outputs=["y"]),
            gpu_step("after_after", snap, "branches", inputs=["y"]),
            gpu_step("other", snap, "branches"),
        ],
        continue_on_step_failure=True,
    )
    bad = claimed(run, "bad")
    other = complete_step(bad, 1, RunStatus.FAILED, reason="exit 3")
    steps = {s.name: s for s in run.steps.all()}
    assert steps["after_bad"].failure_reason == "Not run: upstream step 'bad' failed."
    assert steps["after_after"].failure_reason == "Not run: upstream step 'after_bad' canceled."
    # The other branch goes on, here: its step was still Queued.
    assert other is not None and other.name == "other"
    assert steps["other"].status == RunStatus.RUNNING
    complete_step(other, 1, RunStatus.FINISHED)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == "Step 'bad' failed: exit 3"


def test_a_reused_step_releases_the_steps_waiting_for_it_in_the_same_completion(crew, snap):
    graph = [
        gpu_step("first", snap, "reuse", outputs=["d"], allow_reuse=False),
        gpu_step("second", snap, "reuse", inputs=["d"], outputs=["e"]),
        gpu_step("third", snap, "reuse", inputs=["e"]),
    ]
    earlier = submit(crew, graph)
    complete_step(claimed(earlier, "first"), 1, RunStatus.FINISHED, outputs=OUT)
    second = StepRun.objects.get(run=earlier, name="second")
    complete_step(second, 1, RunStatus.FINISHED, outputs={"e": OUT["d"]})
    later = submit(crew, graph)
    # "first" refuses reuse and runs again with the same output; "second" is then reused
    # and "third" starts at once, all in the completion of "first".
    here = complete_step(claimed(later, "first"), 1, RunStatus.FINISHED, outputs=OUT)
    steps = {s.name: s for s in later.steps.all()}
    assert steps["second"].status == RunStatus.FINISHED
    assert steps["second"].reused_from_id == second.pk
    assert here is not None and here.name == "third"
