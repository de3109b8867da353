"""Type-checking run parameter assignments against the graph's typed defaults."""

import pytest

from pipelines.graph import ParameterError, resolve_parameters

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
