"""The OpenAPI document is one that client generators can rely on: it validates, downloads
are bytes, statuses and roles are named enums, values are typed, ids are one type,
operationIds say what they do, paged parameters are bounded, servers are filled in, and
framework errors such as 405 come in the JSON error shape."""

import json
import re

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

PREFIX = "#/components/schemas/"
OPERATION_VERBS = {
    "add", "cancel", "compare", "create", "delete", "disable", "download", "enable", "get",
    "list", "log", "pause", "publish", "rerun", "resubmit", "resume", "revoke", "set",
    "submit", "update", "upload",
}  # fmt: skip


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def schema(document, name):
    return document["components"]["schemas"][name]


def ref(name):
    return {"$ref": PREFIX + name}


def test_the_document_validates(document):
    validate(document)


def test_no_object_of_the_document_holds_a_key_twice(client):
    def refuse_duplicates(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), f"duplicated keys: {keys}"
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=refuse_duplicates)


def test_downloads_are_binary_media_types_only(document):
    for path in (
        "/api/v1/runs/{id}/steps/{step_id}/outputs/{name}",
        "/api/v1/runs/{id}/steps/{step_id}/outputs/{name}/files/{path}",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert "application/json" not in content, path
        assert "application/octet-stream" in content, path
        for media in content.values():
            assert media["schema"] == {"type": "string", "format": "binary"}


def test_statuses_roles_and_sources_are_named_enums(document):
    assert schema(document, "RunStatus")["enum"] == [
        "NotStarted",
        "Queued",
        "Running",
        "Finished",
        "Failed",
        "Canceling",
        "Canceled",
    ]
    assert schema(document, "EntityStatus")["enum"] == ["Active", "Disabled"]
    assert schema(document, "Role")["enum"] == ["reader", "contributor", "admin"]
    assert "Resubmit" in schema(document, "RunSource")["enum"]
    assert schema(document, "MetricKind")["enum"] == ["scalar", "list", "row", "tag"]
    assert schema(document, "ScheduleStatus")["enum"] == ["Active", "Paused"]
    assert schema(document, "Frequency")["enum"] == ["Minute", "Hour", "Day", "Week", "Month"]
    assert schema(document, "CatchUp")["enum"] == ["latest", "none"]
    assert schema(document, "WeekDay")["enum"][0] == "Monday"
    assert schema(document, "RecurrenceOut")["properties"]["WeekDays"]["items"] == ref("WeekDay")
    uses = {
        ("RunOut", "Status"): "RunStatus",
        ("StepOut", "Status"): "RunStatus",
        ("SubmitOut", "Status"): "RunStatus",
        ("LastRunOut", "Status"): "RunStatus",
        ("ScheduleOut", "Status"): "ScheduleStatus",
        ("RunOut", "RunSource"): "RunSource",
        ("PublishedOut", "Status"): "EntityStatus",
        ("EndpointOut", "Status"): "EntityStatus",
        ("MetricOut", "Kind"): "MetricKind",
        ("TokenOut", "Role"): "Role",
        ("WorkspaceOut", "Role"): "Role",
        ("RecurrenceOut", "Frequency"): "Frequency",
        ("ScheduleOut", "CatchUp"): "CatchUp",
    }
    for (owner, field), enum in uses.items():
        assert schema(document, owner)["properties"][field] == ref(enum), (owner, field)
    # No status, role or kind of any response is left a plain string.
    for name, component in document["components"]["schemas"].items():
        for field in ("Status", "Role", "Kind", "RunSource", "Frequency", "CatchUp"):
            found = component.get("properties", {}).get(field)
            if found is not None and name.endswith("Out"):
                assert "$ref" in found, (name, field)


def test_one_run_source_and_one_parameter_assignments_type(document):
    for body in ("SubmitIn", "EndpointSubmitIn", "PipelineSubmitIn"):
        properties = schema(document, body)["properties"]
        assert properties["RunSource"]["allOf"] == [ref("RunSource")], body
        assert ref("ParameterAssignments") in properties["ParameterAssignments"]["anyOf"], body
    for out in ("SubmitOut", "RunOut"):
        assert schema(document, out)["properties"]["ParameterAssignments"] == ref(
            "ParameterAssignments"
        )
    assignments = schema(document, "ParameterAssignments")
    assert assignments["additionalProperties"] == ref("ParameterValue")
    kinds = [item["type"] for item in schema(document, "ParameterValue")["anyOf"]]
    assert kinds == ["integer", "number", "string", "boolean"]


def test_values_and_error_details_are_typed(document):
    assert schema(document, "MetricOut")["properties"]["Value"] == ref("MetricValue")
    kinds = {item["type"] for item in schema(document, "MetricValue")["anyOf"]}
    assert kinds == {"integer", "number", "string", "boolean", "array", "object", "null"}
    assert schema(document, "ParameterOut")["properties"]["DefaultValue"] == ref("ParameterValue")
    assert schema(document, "ParameterOut")["properties"]["Type"] == ref("ParameterType")
    details = schema(document, "ErrorBody")["properties"]["details"]
    assert details["items"] == ref("ErrorDetail")
    assert set(schema(document, "ErrorDetail")["properties"]) == {"field", "message"}
    health = document["paths"]["/api/v1/health"]["get"]["responses"]["200"]
    assert health["content"]["application/json"]["schema"] == ref("HealthOut")


def test_ids_are_digit_strings_in_paths_bodies_and_responses(document):
    digits = {"type": "string", "pattern": "^[0-9]{1,19}$"}
    for path, _method, operation in operations(document):
        for parameter in operation["parameters"]:
            if parameter["in"] == "path" and parameter["name"] in ("id", "step_id"):
                assert {key: parameter["schema"][key] for key in ("type", "pattern")} == digits, (
                    path
                )
    for body in ("EndpointIn", "VersionIn"):
        pipeline_id = schema(document, body)["properties"]["PipelineId"]
        assert {key: pipeline_id[key] for key in ("type", "pattern")} == digits, body
    for out in ("RunOut", "StepOut", "SubmitOut", "PublishedOut", "EndpointOut", "TokenOut"):
        assert schema(document, out)["properties"]["Id"]["type"] == "string", out


def test_operation_ids_say_what_they_do_and_tags_name_resources(document):
    ids = {(method, path): op["operationId"] for path, method, op in operations(document)}
    assert ids[("post", "/api/v1/pipeline-endpoints/{id}/runs")] == "submitToEndpoint"
    assert ids[("get", "/api/v1/runs/{id}")] == "getRun"
    assert ids[("post", "/api/v1/published-pipelines/{id}/disable")] == "disablePublishedPipeline"
    assert ids[("get", "/api/v1/audit-events")] == "listAuditEvents"
    # Generated clients name their functions after these: renaming one breaks callers.
    assert ids[("get", "/api/v1/runs/{id}/metrics")] == "listRunMetrics"
    assert ids[("get", "/api/v1/runs/compare")] == "compareRuns"
    assert len(set(ids.values())) == len(ids)
    for operation_id in ids.values():
        assert operation_id.isalnum() and operation_id[0].islower(), operation_id
        assert "api" not in operation_id.lower(), operation_id
        verb = re.match("[a-z]+", operation_id).group()
        assert verb in OPERATION_VERBS, f"{operation_id} does not start with a verb"
    tags = {tuple(op["tags"]) for _path, _method, op in operations(document)}
    assert all(len(tag) == 1 for tag in tags)
    assert ("tokens",) in tags and ("audit",) in tags
    assert document["paths"]["/api/v1/health"]["get"]["tags"] == ["health"]


def test_paged_parameters_are_bounded(document):
    def parameter(path, name):
        found = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
        return found[0]["schema"]

    def bounds(found):
        return {key: found.get(key) for key in ("minimum", "maximum")}

    assert bounds(parameter("/api/v1/runs", "limit")) == {"minimum": 1, "maximum": 200}
    assert bounds(parameter("/api/v1/audit-events", "limit")) == {"minimum": 1, "maximum": 500}
    assert bounds(parameter("/api/v1/runs/{id}/steps", "limit")) == {"minimum": 1, "maximum": 1000}
    schedule_runs = parameter("/api/v1/schedules/{id}/runs", "limit")
    assert bounds(schedule_runs) == {"minimum": 1, "maximum": 200}
    # Every limit or offset of every operation says its bounds.
    for path, method, operation in operations(document):
        for found in operation.get("parameters", []):
            if found["name"] in ("limit", "offset"):
                assert "minimum" in found["schema"], (method, path, found["name"])
                assert found["name"] == "offset" or "maximum" in found["schema"], (method, path)
    assert parameter("/api/v1/runs/{id}/steps/{step_id}/log", "offset")["minimum"] == 0
    assert parameter("/api/v1/runs", "cursor")["anyOf"][0]["maxLength"] == 200
    assert parameter("/api/v1/audit-events", "cursor")["anyOf"][0]["maxLength"] == 200


def test_every_operation_declares_its_errors_and_the_workspace_header(document):
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert {"400", "500"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"] == {"application/json": {"schema": ref("Error")}}
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        if operation.get("security"):
            assert "401" in responses and "X-Studio-Workspace" in headers, (method, path)
        else:  # only the health check answers without a token
            assert path == "/api/v1/health" and "X-Studio-Workspace" not in headers


def test_servers_come_from_the_public_address(client, settings):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    document = client.get("/api/v1/openapi.json").json()
    assert document["servers"] == [{"url": "https://studio.example.com"}]


def test_no_component_is_left_unused(document):
    text = str(document["paths"])
    referenced = set()
    pending = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if str(node.get("$ref", "")).startswith(PREFIX):
                name = node["$ref"][len(PREFIX) :]
                if name not in referenced:
                    referenced.add(name)
                    pending.append(schema(document, name))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    assert set(document["components"]["schemas"]) == referenced
    assert "RunFilters" not in text and "AuditFilters" not in document["components"]["schemas"]


def test_a_method_a_route_does_not_take_is_405_in_the_error_shape(client):
    response = client.delete("/api/v1/runs")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "DELETE" in response.json()["error"]["message"]
