"""Type-checking run parameter assignments against the graph's typed defaults."""

import pytest

from pipelines.graph import ParameterError, resolve_parameters
from pipelines.parameters import MAX_VALUE_BYTES

GRAPH = {
    "parameters": [
        {"name": "count", "type": "int", "default_value": 10},
        {"name": "rate", "type": "float", "default_value": 0.5},
        {"name": "flag", "type": "bool", "default_value": False},
        {"name": "label", "type": "str", "default_value": "x"},
    ],
    "steps": [],
}


def resolved(**assignments):
    return resolve_parameters(GRAPH, assignments)


def refused(**assignments):
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(GRAPH, assignments)
    return caught.value


def test_missing_parameters_take_their_defaults():
    assert resolved() == {"count": 10, "rate": 0.5, "flag": False, "label": "x"}


@pytest.mark.parametrize("value", [20, "20", " 20 ", 20.0])
def test_int_accepts_integers_and_integer_strings(value):
    assert resolved(count=value)["count"] == 20


@pytest.mark.parametrize("value", ["twenty", 2.5, True, None, [1], "2.5"])
def test_int_refuses_other_values(value):
    error = refused(count=value)
    assert error.details[0]["field"] == "ParameterAssignments.count"
    assert "integer" in error.details[0]["message"] or "boolean" in error.details[0]["message"]


@pytest.mark.parametrize("value,expected", [(1, 1.0), (0.25, 0.25), ("1e-3", 0.001)])
def test_float_accepts_numbers_and_numeric_strings(value, expected):
    assert resolved(rate=value)["rate"] == expected


@pytest.mark.parametrize("value", ["fast", "nan", "inf", False, {}])
def test_float_refuses_other_values(value):
    assert refused(rate=value).details[0]["field"] == "ParameterAssignments.rate"


@pytest.mark.parametrize("value,expected", [(True, True), ("true", True), ("False", False)])
def test_bool_accepts_booleans_and_their_names(value, expected):
    assert resolved(flag=value)["flag"] is expected


@pytest.mark.parametrize("value", [1, "yes", "1", None])
def test_bool_refuses_other_values(value):
    assert refused(flag=value).details[0]["field"] == "ParameterAssignments.flag"


def test_str_accepts_strings_and_numbers_as_text():
    assert resolved(label="hello")["label"] == "hello"
    assert resolved(label=3)["label"] == "3"


@pytest.mark.parametrize("value", [True, None, ["a"], "nul\x00byte"])
def test_str_refuses_other_values(value):
    assert refused(label=value).details[0]["field"] == "ParameterAssignments.label"


def test_unknown_names_are_refused_naming_each():
    error = refused(count=1, nope=2, other="x")
    assert [d["field"] for d in error.details] == [
        "ParameterAssignments.nope",
        "ParameterAssignments.other",
    ]
    assert "unknown parameter 'nope'" in error.details[0]["message"]


def test_assignments_must_be_an_object():
    with pytest.raises(ParameterError):
        resolve_parameters(GRAPH, ["count", 1])


def test_int_is_limited_to_64_bits():
    assert resolved(count=2**63 - 1)["count"] == 2**63 - 1
    assert resolved(count=str(-(2**63)))["count"] == -(2**63)
    for value in (2**63, -(2**63) - 1, 10**30, 1e30, "9" * 25):
        assert "64 bits" in refused(count=value).details[0]["message"]


def test_str_is_limited_in_utf8_bytes():
    assert resolved(label="é" * (MAX_VALUE_BYTES // 2))["label"]
    error = refused(label="é" * (MAX_VALUE_BYTES // 2 + 1))
    assert error.details == [
        {
            "field": "ParameterAssignments.label",
            "message": f"a string may be at most {MAX_VALUE_BYTES} bytes (UTF-8) "
            "for str parameter 'label'",
        }
    ]


def test_a_value_used_many_times_cannot_overflow_a_steps_argv():
    graph = {
        "parameters": [{"name": "label", "type": "str", "default_value": "x"}],
        "steps": [{"name": "many", "arguments": [{"parameter": "label"}] * 20}],
    }
    assert resolve_parameters(graph, {"label": "y" * 50_000})["label"]
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(graph, {"label": "y" * MAX_VALUE_BYTES})
    assert caught.value.details[0]["field"] == "ParameterAssignments"
    assert "'many'" in caught.value.details[0]["message"]
