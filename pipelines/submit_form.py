"""The studio's Submit form: experiment name, one field per pipeline parameter, the version.

Values are checked by :func:`pipelines.graph.resolve_parameters`, the same rules as the REST
API; its messages are shown beside the parameter they name.
"""

from __future__ import annotations

from django import forms

from pipelines.graph import ParameterError, resolve_parameters

PARAMETER_PREFIX = "p_"
ASSIGNMENT_PREFIX = "ParameterAssignments."
# REST field names in refusal details, and the form fields that show them.
FIELDS_OF_DETAILS = {"ExperimentName": "experiment_name", "PipelineVersion": "pipeline_version"}


class SubmitForm(forms.Form):
    """Submit a run of ``graph``; ``versions`` (endpoint pages only) adds "Pipeline version"."""

    experiment_name = forms.CharField(label="Experiment name", max_length=255)

    def __init__(self, *args, graph: dict, versions=None, default_version: str = "", **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.graph = graph
        if versions is not None:
            self.fields["pipeline_version"] = forms.ChoiceField(
                label="Pipeline version",
                choices=[(v.version, _version_label(v)) for v in versions],
                initial=default_version,
            )
        for parameter in graph.get("parameters") or []:
            self.fields[PARAMETER_PREFIX + parameter["name"]] = _parameter_field(parameter)
        # The values as entered, by parameter name; valid once the form is.
        self.assignments: dict = {}

    def parameter_fields(self):
        """The bound fields of the pipeline's parameters, in the graph's order."""
        return [f for f in self if f.name.startswith(PARAMETER_PREFIX)]

    def clean(self):
        cleaned = super().clean()
        assignments = {}
        for parameter in self.graph.get("parameters") or []:
            key = PARAMETER_PREFIX + parameter["name"]
            if key not in cleaned:
                continue
            value = cleaned[key]
            assignments[parameter["name"]] = (
                ("true" if value else "false") if parameter["type"] == "bool" else value
            )
        try:
            resolve_parameters(self.graph, assignments)
            self.assignments = assignments
        except ParameterError as error:
            self.add_refusal(error)
        return cleaned

    def add_refusal(self, error) -> None:
        """Show a domain refusal (a ``core.errors.StudioError``) beside the fields it names."""
        if not error.details:
            self.add_error(None, error.message)
        for detail in error.details:
            field = FIELDS_OF_DETAILS.get(detail.get("field", ""))
            if field is None and detail.get("field", "").startswith(ASSIGNMENT_PREFIX):
                field = PARAMETER_PREFIX + detail["field"].removeprefix(ASSIGNMENT_PREFIX)
            self.add_error(field if field in self.fields else None, detail["message"])


def _version_label(version) -> str:
    published = version.published_pipeline
    label = f"{version.version} — {published.name}"
    if published.version:
        label += f" {published.version}"
    if version.is_default:
        label += " (default)"
    return label


def _parameter_field(parameter: dict) -> forms.Field:
    name, kind, default = parameter["name"], parameter["type"], parameter.get("default_value")
    if kind == "bool":
        return forms.BooleanField(label=name, required=False, initial=bool(default))
    if kind in ("int", "float"):
        widget = forms.NumberInput(attrs={"step": "1" if kind == "int" else "any"})
        return forms.CharField(label=name, initial=default, widget=widget, strip=True)
    return forms.CharField(label=name, initial=default, required=False, strip=False)
