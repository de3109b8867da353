"""Ready-to-paste code for the endpoint page's "Consume" tab: curl, requests and the SDK.

The snippets are plain text; the template escapes them like any other value.
"""

from __future__ import annotations

import json
import pprint
from dataclasses import dataclass

from core.web import absolute_url


@dataclass(frozen=True)
class Snippet:
    """One code sample: its tab title, an element id for "Copy", and its text."""

    title: str
    slug: str
    code: str


def _body(experiment: str, graph: dict) -> dict:
    parameters = {p["name"]: p.get("default_value") for p in graph.get("parameters") or []}
    return {"ExperimentName": experiment, "ParameterAssignments": parameters}


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def for_endpoint(endpoint, rest_url: str, graph: dict, request) -> list[Snippet]:
    """curl, Python ``requests`` and SDK code that submit a run of ``endpoint``'s default."""
    base_url = absolute_url(request, "")
    experiment = f"{endpoint.name}-runs"
    body = _body(experiment, graph)
    parameters = body["ParameterAssignments"]
    curl = (
        f'curl -X POST "{rest_url}" \\\n'
        '  -H "Authorization: Bearer $STUDIO_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d {_shell_quote(json.dumps(body))}"
    )
    body_code = pprint.pformat(body, sort_dicts=False, width=88).replace("\n", "\n       ")
    requests_code = (
        "import os\n\nimport requests\n\n"
        f"body = {body_code}\n"
        "response = requests.post(\n"
        f"    {rest_url!r},\n"
        '    headers={"Authorization": f"Bearer {os.environ[\'STUDIO_TOKEN\']}"},\n'
        "    json=body,\n"
        "    timeout=30,\n)\n"
        "response.raise_for_status()\n"
        'print(response.json()["RunUrl"])'
    )
    sdk = (
        "import os\n\nfrom pipelines.sdk import PipelineEndpoint, Workspace\n\n"
        f'ws = Workspace(url={base_url!r}, token=os.environ["STUDIO_TOKEN"])\n'
        f"endpoint = PipelineEndpoint.get(workspace=ws, name={endpoint.name!r})\n"
        f"run = endpoint.submit({experiment!r}, pipeline_parameters={parameters!r})\n"
        "run.wait_for_completion(show_output=True)"
    )
    return [
        Snippet("curl", "snippet-curl", curl),
        Snippet("Python requests", "snippet-requests", requests_code),
        Snippet("Python SDK", "snippet-sdk", sdk),
    ]
