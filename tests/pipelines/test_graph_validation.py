"""Every rule of the graph document, each refusal naming the step (nothing is stored)."""

import pytest

from pipelines.graph import GraphError, validate_graph
from pipelines.models import Pipeline
from tests.pipelines.builders import make_snapshot, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def snap(crew, tmp_path):
    return make_snapshot(crew.workspace, tmp_path, {"a.py": "", "lib/b.py": ""})


def refusal(crew, steps, parameters=()):
    with pytest.raises(GraphError) as caught:
        validate_graph({"parameters": list(parameters), "steps": steps}, crew.workspace)
    assert Pipeline.objects.count() == 0
    return " | ".join(d["message"] for d in caught.value.details)


def test_valid_graph_is_normalised_with_defaults(crew, snap):
    graph = validate_graph(
        {
            "parameters": [{"name": "n", "default_value": 3}],
            "steps": [
                {
                    "name": "one",
                    "script_name": "lib/b.py",
                    "snapshot": snap.sha256,
                    "arguments": ["--n", {"parameter": "n"}],
                }
            ],
        },
        crew.workspace,
    )
    assert graph["parameters"] == [{"name": "n", "type": "int", "default_value": 3}]
    assert graph["steps"][0] | {"arguments": None} == {
        "name": "one",
        "script_name": "lib/b.py",
        "snapshot": snap.sha256,
        "inputs": [],
        "outputs": [],
        "run_after": [],
        "compute_target": "cpu",
        "allow_reuse": True,
        "timeout_seconds": 24 * 3600,
        "arguments": None,
    }


def test_cycle_names_the_steps(crew, snap):
    message = refusal(
        crew,
        [
            step("first", snap, "a.py", inputs=["y"], outputs=["x"]),
            step("second", snap, "a.py", inputs=["x"], outputs=["y"]),
            step("free", snap, "a.py"),
        ],
    )
    assert "cycle" in message and "'first'" in message and "'second'" in message
    assert "'free'" not in message


def test_run_after_cycle_is_refused(crew, snap):
    message = refusal(
        crew, [step("a", snap, "a.py", run_after=["b"]), step("b", snap, "a.py", run_after=["a"])]
    )
    assert "cycle" in message


def test_duplicate_step_name(crew, snap):
    message = refusal(crew, [step("twin", snap, "a.py"), step("twin", snap, "a.py")])
    assert "step name 'twin' is used twice" in message


def test_data_read_but_never_written(crew, snap):
    message = refusal(crew, [step("reader", snap, "a.py", inputs=["ghost"])])
    assert "step 'reader' reads data 'ghost' that no step writes" in message


def test_data_written_twice(crew, snap):
    message = refusal(
        crew, [step("w1", snap, "a.py", outputs=["out"]), step("w2", snap, "a.py", outputs=["out"])]
    )
    assert "data 'out' is written by step 'w1' and by step 'w2'" in message


def test_unknown_parameter_reference(crew, snap):
    message = refusal(crew, [step("s", snap, "a.py", ["--x", {"parameter": "nope"}])])
    assert "step 's': unknown parameter 'nope'" in message


def test_data_argument_must_be_an_input_or_output(crew, snap):
    message = refusal(crew, [step("s", snap, "a.py", ["--x", {"data": "elsewhere"}])])
    assert "step 's': data 'elsewhere' is not one of the step's inputs or outputs" in message


def test_script_missing_from_snapshot(crew, snap):
    message = refusal(crew, [step("s", snap, "missing.py")])
    assert "step 's': script 'missing.py' is not in snapshot" in message


@pytest.mark.parametrize("script", ["../a.py", "/etc/passwd", "lib/../../a.py", "C:/x.py"])
def test_script_path_leaving_the_snapshot(crew, snap, script):
    message = refusal(crew, [step("s", snap, script)])
    assert f"step 's': script path {script!r} leaves the snapshot" in message


def test_unknown_snapshot(crew):
    message = refusal(crew, [{"name": "s", "script_name": "a.py", "snapshot": "f" * 64}])
    assert "step 's': unknown snapshot" in message


def test_snapshot_of_another_workspace_is_unknown(crew, tmp_path):
    other = make_snapshot(crew.other_workspace, tmp_path, {"a.py": ""})
    message = refusal(crew, [step("s", other, "a.py")])
    assert "unknown snapshot" in message


def test_unknown_compute_target(crew, snap):
    message = refusal(crew, [step("s", snap, "a.py", compute_target="tpu")])
    assert "step 's': unknown compute target 'tpu' (known: cpu, gpu)" in message


def test_bad_timeout_and_reuse_flags(crew, snap):
    message = refusal(crew, [step("s", snap, "a.py", timeout_seconds=0, allow_reuse="yes")])
    assert "step 's': timeout_seconds" in message and "step 's': allow_reuse" in message


def test_no_steps(crew):
    assert "no steps" in refusal(crew, [])


def test_every_problem_is_reported_at_once(crew, snap):
    with pytest.raises(GraphError) as caught:
        validate_graph(
            {
                "steps": [
                    step("a", snap, "nope.py", compute_target="tpu"),
                    step("b", snap, "a.py", inputs=["ghost"]),
                ]
            },
            crew.workspace,
        )
    fields = [d["field"] for d in caught.value.details]
    assert "Graph.steps[0].script_name" in fields
    assert "Graph.steps[0].compute_target" in fields
    assert "Graph.steps" in fields
    assert "(and 2 more)" in caught.value.message


def test_arguments_no_process_could_be_started_with(crew, snap):
    long_literal = refusal(crew, [step("big", snap, "a.py", arguments=["x" * 70_000])])
    assert "'big': an argument is over 65536 bytes" in long_literal
    many = refusal(
        crew,
        [step("many", snap, "a.py", arguments=[{"parameter": "p"}] * 20)],
        parameters=[{"name": "p", "default_value": "y" * 60_000}],
    )
    assert "'many': arguments over 1048576 bytes in all" in many


def test_a_group_label_is_kept_and_steps_without_one_stay_as_they_were(crew, snap):
    graph = validate_graph(
        {
            "steps": [
                step("score[0]", snap, "a.py", group="score"),
                step("score[1]", snap, "a.py", group="score"),
                step("alone", snap, "a.py", group=None),
            ]
        },
        crew.workspace,
    )
    assert [s.get("group") for s in graph["steps"]] == ["score", "score", None]
    assert "group" not in graph["steps"][2]  # graphs stored before groups are unchanged


@pytest.mark.parametrize(
    "group",
    [
        "",
        " ",
        "-x",
        ".hidden",
        "a b",
        "<script>",
        "a/b",
        "score\n",
        "x\x00",
        "é",
        "a" * 129,
        3,
        ["a"],
    ],
)
def test_a_bad_group_label_is_refused(crew, snap, group):
    message = refusal(crew, [step("one", snap, "a.py", group=group)])
    assert message.startswith("step 'one': group must be a name of 1 to 128 letters")


def test_names_ending_in_a_newline_are_refused(crew, snap):
    """A data or parameter name must be a name to its end: "model\\n" would become a folder
    name and an argparse flag that no step could match."""
    message = refusal(
        crew,
        [step("one", snap, "a.py", outputs=["model\n"])],
        parameters=[{"name": "n\n", "default_value": 1}],
    )
    assert "'model\\n' is not a valid data name" in message
    assert "parameter name 'n\\n' is not a valid name" in message
