"""The OpenAPI document describes every route of docs/CONTRACTS.md with its errors, and the
interactive docs page works with nothing loaded from outside the studio."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

CONTRACT_ROUTES = [
    ("get", "/workspace"),
    ("get", "/snapshots/{sha256}"),
    ("post", "/snapshots"),
    ("post", "/pipelines"),
    ("get", "/pipelines/{id}"),
    ("post", "/pipelines/{id}/runs"),
    ("post", "/pipelines/{id}/publish"),
    ("get", "/runs"),
    ("get", "/runs/{id}"),
    ("get", "/runs/{id}/steps"),
    ("get", "/runs/{id}/steps/{step_id}/log"),
    ("get", "/runs/{id}/metrics"),
    ("get", "/runs/{id}/steps/{step_id}/metrics"),
    ("get", "/runs/{id}/steps/{step_id}/outputs/{name}"),
    ("get", "/runs/{id}/steps/{step_id}/outputs/{name}/files/{path}"),
    ("post", "/runs/{id}/cancel"),
    ("post", "/runs/{id}/resubmit"),
    ("post", "/runs/{id}/publish"),
    ("get", "/published-pipelines"),
    ("get", "/published-pipelines/{id}"),
    ("post", "/published-pipelines/{id}/disable"),
    ("post", "/published-pipelines/{id}/enable"),
    ("post", "/published-pipelines/{id}/runs"),
    ("post", "/pipeline-endpoints"),
    ("get", "/pipeline-endpoints"),
    ("get", "/pipeline-endpoints/{id}"),
    ("get", "/pipeline-endpoints/by-name/{name}"),
    ("patch", "/pipeline-endpoints/{id}"),
    ("get", "/pipeline-endpoints/{id}/versions"),
    ("post", "/pipeline-endpoints/{id}/versions"),
    ("get", "/pipeline-endpoints/{id}/versions/{version}"),
    ("put", "/pipeline-endpoints/{id}/default-version"),
    ("post", "/pipeline-endpoints/{id}/disable"),
    ("post", "/pipeline-endpoints/{id}/enable"),
    ("post", "/pipeline-endpoints/{id}/runs"),
    ("get", "/tokens"),
    ("post", "/tokens"),
    ("post", "/tokens/{id}/revoke"),
    ("get", "/audit-events"),
]


@pytest.fixture
def openapi(api, fast_passwords, team):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_describes_every_contract_route_with_its_errors(openapi):
    paths = openapi["paths"]
    error = {"$ref": "#/components/schemas/Error"}
    for method, route in CONTRACT_ROUTES:
        operation = paths[f"/api/v1{route}"][method]
        responses = operation["responses"]
        expected = {"400", "401", "500"}
        if "{" in route:
            expected.add("404")
        if method in {"post", "put", "patch"}:
            expected |= {"403", "413", "415"}
        assert expected <= set(responses), (method, route, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == error, status
                assert response["description"] not in ("", "OK"), (method, route, status)
        assert operation["security"] == [{"BearerAuth": []}]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "X-Studio-Workspace" in headers, (method, route)
        assert operation.get("description") or operation.get("summary")
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_openapi_describes_the_submit_contract(openapi):
    submit = openapi["paths"]["/api/v1/pipeline-endpoints/{id}/runs"]["post"]
    schemas = openapi["components"]["schemas"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(schemas[body]["properties"]) == {
        "ExperimentName",
        "ParameterAssignments",
        "RunSource",
        "Description",
        "PipelineVersion",
    }
    assert schemas[body]["required"] == ["ExperimentName"]
    created = submit["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schemas[created.split("/")[-1]]["required"]) == {
        "Id",
        "Status",
        "ExperimentName",
        "PipelineId",
        "PipelineEndpointId",
        "PipelineVersion",
        "ParameterAssignments",
        "RunUrl",
        "CreatedTime",
    }
    headers = [p["name"] for p in submit["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key", "X-Studio-Workspace"]
    published = openapi["paths"]["/api/v1/published-pipelines/{id}/runs"]["post"]
    body = published["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "PipelineVersion" not in schemas[body.split("/")[-1]]["properties"]


def test_error_schema_is_the_standard_shape(openapi):
    error = openapi["components"]["schemas"]["Error"]
    body = openapi["components"]["schemas"][error["properties"]["error"]["$ref"].split("/")[-1]]
    assert set(body["properties"]) == {"code", "message", "details"}


@pytest.mark.browser
def test_docs_page_lists_every_route_without_a_cdn(
    page, api, fast_passwords, team, screenshot, console_errors
):
    outside = []

    def only_the_studio(route):
        host = urlparse(route.request.url).hostname
        if host not in {"localhost", "127.0.0.1"}:
            outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", only_the_studio)
    page.goto(api.url("/docs"))
    # Swagger UI builds the page from the whole OpenAPI document: slow on a loaded machine.
    expect(page.get_by_text("Pipeline Studio API").first).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= len(CONTRACT_ROUTES)
    submit = page.locator(".opblock-summary-path", has_text="/api/v1/pipeline-endpoints/{id}/runs")
    expect(submit.first).to_be_visible()
    screenshot("api-docs")
    assert outside == []
    assert console_errors == []


def test_unknown_api_routes_are_404_in_the_error_shape(api, fast_passwords, team):
    for path in ["/nope", "/runs/", "/pipeline-endpoints/1/nothing"]:
        response = api.get(path, team.token())
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert "/api/v1/docs" in response.json()["error"]["message"]


def test_unknown_api_routes_are_404_for_posts_too(api, fast_passwords, team):
    response = api.post("/nope", team.token(), json={})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
