"""Fan-out in the SDK: ``PythonScriptStep.fan_out(over=[...])`` makes one step per value, in a
group; the engine runs each as any step (own log, metrics, outputs) and the run page draws the
group as one node."""

import math
import re
import textwrap
from pathlib import Path

import pytest
from django.urls import reverse

from pipelines.models import Pipeline as PipelineRow
from pipelines.models import PipelineRun as RunRow
from pipelines.sdk import (
    BadRequestError,
    Experiment,
    FanOut,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
    ValidationError,
    Workspace,
)
from pipelines.sdk.snapshots import build_snapshot
from pipelines.sdk.steps import MAX_FAN_OUT
from studio.models import Role

WS = Workspace(url="http://127.0.0.1:9", token="unused")  # never contacted by unit tests


@pytest.fixture
def src(tmp_path):
    for name in ("prepare.py", "score.py", "report.py"):
        (tmp_path / name).write_text("print('hi')\n")
    return tmp_path


def test_a_fan_out_is_one_step_per_value_in_one_group(src):
    model, scores = PipelineData("model"), PipelineData("scores")
    PythonScriptStep("prepare.py", outputs=[model], source_directory=src)  # writes the model
    threshold = PipelineParameter("threshold", 0.5)
    score = PythonScriptStep(
        "score.py",
        arguments=["--model", model, "--threshold", threshold, "--out", scores],
        inputs=[model],
        outputs=[scores],
        compute_target="cpu",
        source_directory=src,
        allow_reuse=False,
        timeout_seconds=600,
    )
    fan = score.fan_out(over=["2024-01", "2024-02", 3], argument="--month")
    report = PythonScriptStep(
        "report.py",
        arguments=["--scores", *fan.outputs(scores)],
        inputs=fan.outputs(scores),
        source_directory=src,
    )
    graph = Pipeline(WS, steps=[report]).to_graph()
    sha = build_snapshot(src).sha256
    by_name = {step["name"]: step for step in graph["steps"]}
    assert list(by_name) == ["report", "score[0]", "score[1]", "score[2]", "prepare"]
    assert graph["parameters"] == [{"name": "threshold", "type": "float", "default_value": 0.5}]
    assert by_name["score[1]"] == {
        "name": "score[1]",
        "script_name": "score.py",
        "snapshot": sha,
        "arguments": [
            "--model",
            {"data": "model"},
            "--threshold",
            {"parameter": "threshold"},
            "--out",
            {"data": "scores-1"},
            "--month",
            "2024-02",
        ],
        "inputs": ["model"],
        "outputs": ["scores-1"],
        "allow_reuse": False,
        "run_after": [],
        "compute_target": "cpu",
        "timeout_seconds": 600,
        "group": "score",
    }
    assert by_name["score[2]"]["arguments"][-2:] == ["--month", 3]
    assert "group" not in by_name["prepare"] and "group" not in by_name["report"]
    assert by_name["report"]["inputs"] == ["scores-0", "scores-1", "scores-2"]
    assert by_name["report"]["arguments"] == [
        "--scores",
        {"data": "scores-0"},
        {"data": "scores-1"},
        {"data": "scores-2"},
    ]
    assert (fan.name, fan.values, len(fan)) == ("score", ["2024-01", "2024-02", 3], 3)
    assert [step.name for step in fan] == ["score[0]", "score[1]", "score[2]"]
    assert repr(fan) == "FanOut(name='score', copies=3)"


def test_values_alone_run_after_a_fan_out_and_a_fan_out_in_steps(src):
    first = PythonScriptStep("prepare.py", source_directory=src)
    shard = PythonScriptStep("score.py", name="shard", source_directory=src)
    shard.run_after(first)
    fan = shard.fan_out(over=range(3))
    report = PythonScriptStep("report.py", source_directory=src)
    report.run_after(fan)
    report.run_after(fan)  # twice is once
    graph = Pipeline(WS, steps=[fan, report]).to_graph()
    by_name = {step["name"]: step for step in graph["steps"]}
    assert [by_name[f"shard[{i}]"]["arguments"] for i in range(3)] == [[0], [1], [2]]
    assert all(by_name[f"shard[{i}]"]["run_after"] == ["prepare"] for i in range(3))
    assert by_name["report"]["run_after"] == ["shard[0]", "shard[1]", "shard[2]"]
    assert list(by_name)[:3] == ["shard[0]", "shard[1]", "shard[2]"]  # given order first


def test_ten_thousand_copies_build_a_graph_of_ten_thousand_steps(src):
    fan = PythonScriptStep("score.py", source_directory=src).fan_out(
        over=list(range(MAX_FAN_OUT)), argument="--shard"
    )
    report = PythonScriptStep("report.py", source_directory=src)
    report.run_after(fan)
    graph = Pipeline(WS, steps=[report]).to_graph()
    assert len(graph["steps"]) == MAX_FAN_OUT + 1
    assert graph["steps"][-1]["name"] == f"score[{MAX_FAN_OUT - 1}]"
    assert {step.get("group") for step in graph["steps"]} == {None, "score"}


def step_of(src, name="score"):
    return PythonScriptStep("score.py", name=name, source_directory=src)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ([], "needs at least one value"),
        (list(range(MAX_FAN_OUT + 1)), "at most 10,000 copies, not 10,001"),
        ("abc", "needs a list of values, not str"),
        ({"a", "b"}, "needs a list of values, not set"),
        ({"a": 1}, "needs a list of values, not dict"),
        (None, "needs a list of values, not NoneType"),
        ((v for v in "ab"), "needs a list of values, not generator"),
        ([1, None], "fan_out value 1 is a NoneType; use str, int, float or bool"),
        ([{"a": 1}], "fan_out value 0 is a dict"),
        ([PipelineData("d")], "fan_out value 0 is a PipelineData"),
        ([math.nan], "fan_out value 0 must be a finite number, not nan"),
        ([1, math.inf], "fan_out value 1 must be a finite number, not inf"),
        (["ok", "a\x00b"], "fan_out value 1 may not contain a NUL character"),
    ],
)
def test_bad_values_are_refused_clearly(src, over, message):
    step = step_of(src)
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        step.fan_out(over=over)
    assert str(caught.value).startswith("Step 'score': ")
    assert step._fanned_out is None  # nothing changed: the step can still be used


@pytest.mark.parametrize("argument", ["", 3, "--a\x00"])
def test_a_bad_argument_name_is_refused(src, argument):
    with pytest.raises(ValidationError, match="argument=.... must be a non-empty string or None"):
        step_of(src).fan_out(over=[1], argument=argument)


@pytest.mark.parametrize(
    "name", ["my score", "<script>alert(1)</script>", "a/b", "-x", ".x", "é", "s" * 129]
)
def test_a_step_whose_name_cannot_name_a_group_is_refused(src, name):
    with pytest.raises(ValidationError, match="cannot be fanned out under this name"):
        step_of(src, name).fan_out(over=[1, 2])


def test_the_fanned_out_step_itself_is_refused_in_a_pipeline(src):
    out = PipelineData("scores")
    step = PythonScriptStep("score.py", outputs=[out], source_directory=src)
    fan = step.fan_out(over=[1, 2])
    with pytest.raises(ValidationError, match="was fanned out already"):
        step.fan_out(over=[3])
    with pytest.raises(ValidationError, match="was fanned out already"):
        fan.steps[0].fan_out(over=[3])
    reader = PythonScriptStep("report.py", arguments=[out], inputs=[out], source_directory=src)
    with pytest.raises(ValidationError) as caught:
        Pipeline(WS, steps=[reader]).to_graph()
    assert caught.value.details == [
        "Data 'scores' is read by ['report'] but step 'score' that wrote it was fanned out: "
        "each copy writes its own, read them with FanOut.outputs(scores)"
    ]
    with pytest.raises(ValidationError) as caught:
        Pipeline(WS, steps=[step]).to_graph()
    assert caught.value.details == [
        "Step 'score' was fanned out into 2 copies: use its FanOut (steps score[0]…) in its "
        "place, in steps and run_after"
    ]
    with pytest.raises(ValidationError, match="is not an output of step 'score'"):
        fan.outputs(PipelineData("other"))
    assert isinstance(fan, FanOut)


@pytest.mark.django_db(transaction=True)
def test_the_server_refuses_a_hostile_group_even_from_a_modified_client(sdk_workspace, step_source):
    ws = sdk_workspace(Role.CONTRIBUTOR)
    fan = PythonScriptStep("echo.py", source_directory=step_source).fan_out(over=[1, 2])
    fan.steps[1].group = "<script>alert(1)</script>"
    with pytest.raises(BadRequestError) as caught:
        Experiment(ws, "Hostile").submit(Pipeline(ws, steps=[fan]))
    assert caught.value.details[0]["field"] == "Graph.steps[1].group"
    assert "group must be a name of 1 to 128 letters" in caught.value.details[0]["message"]
    assert not RunRow.objects.exists() and not PipelineRow.objects.exists()


GATHER = """
    import pathlib
    import sys

    for folder in sys.argv[1:]:
        print(pathlib.Path(folder, "value.txt").read_text(), flush=True)
"""


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_each_copy_with_its_own_value_log_metrics_and_output(
    celery_worker, sdk_workspace, step_source: Path, live_server, client, team, tmp_path
):
    (step_source / "gather.py").write_text(textwrap.dedent(GATHER).lstrip())
    ws = sdk_workspace(Role.CONTRIBUTOR)
    out = PipelineData("out")
    echo = PythonScriptStep(
        "echo.py", arguments=["--out", out], outputs=[out], source_directory=step_source
    )
    fan = echo.fan_out(over=[11, 22, 33], argument="--value")
    gather = PythonScriptStep(
        "gather.py",
        arguments=fan.outputs(out),
        inputs=fan.outputs(out),
        source_directory=step_source,
    )
    run = Experiment(ws, "Fan_out").submit(Pipeline(ws, steps=[gather]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    steps = {step.name: step for step in run.get_steps()}
    assert set(steps) == {"echo[0]", "echo[1]", "echo[2]", "gather"}
    for index, value in enumerate([11, 22, 33]):
        copy = steps[f"echo[{index}]"]
        assert copy.get_log() == f"received {value}\n"
        assert copy.get_metrics() == {"value": value}
        assert copy.read_output_file(f"out-{index}", "value.txt") == str(value).encode()
    assert steps["gather"].get_log() == "11\n22\n33\n"

    row = RunRow.objects.get(pk=run.id)
    assert [s["group"] for s in row.graph["steps"] if "group" in s] == ["echo"] * 3
    client.force_login(team.reader)
    html = client.get(reverse("pipelines:run_detail", args=[row.pk])).content.decode()
    assert html.count('class="node group status-finished"') == 1
    assert ">echo ×3<" in html and ">3/3 finished<" in html
    listed = client.get(reverse("pipelines:run_detail", args=[row.pk]), {"group": "echo"})
    assert listed.content.decode().count('class="group-tag"') == 3
