"""Forms of the runs pages: the filters (read from the query string, so every state has a
URL) and the run form that Submit and "Rerun from failed step" share.

Parameter values are checked by :func:`pipelines.graph.resolve_parameters`, the same rules as
the REST API; its messages are shown beside the parameter they name.
"""

from __future__ import annotations

from django import forms
from django.utils.choices import BaseChoiceIterator

from .graph import ParameterError, resolve_parameters
from .models import RunStatus
from .queries import run_filter_choices

PARAMETER_PREFIX = "p_"
ASSIGNMENT_PREFIX = "ParameterAssignments."
# REST field names in refusal details, and the form fields that show them.
FIELDS_OF_DETAILS = {
    "ExperimentName": "experiment_name",
    "PipelineVersion": "pipeline_version",
    "Description": "description",
    "Tags": "tags",
}
MAX_TAGS = 50


class RunForm(forms.Form):
    """A run of ``graph``: experiment name, description, tags and one field per parameter,
    each with its type and default as help."""

    experiment_name = forms.CharField(
        label="Experiment name",
        max_length=255,
        help_text="Runs with the same experiment name are grouped together.",
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        max_length=2_000,
        help_text="key=value pairs separated by commas, e.g. team=vision, ticket=42",
    )

    # REST field names in refusal details, and the form fields that show them.
    fields_of_details = FIELDS_OF_DETAILS

    def __init__(self, *args, graph: dict, experiment_names=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.graph = graph
        self.experiment_names = list(experiment_names)
        self.fields["experiment_name"].widget.attrs["list"] = "experiment-names"
        self.fields["experiment_name"].widget.attrs["autocomplete"] = "off"
        for parameter in graph.get("parameters") or []:
            self.fields[PARAMETER_PREFIX + parameter["name"]] = _parameter_field(parameter)
        # The values as entered, by parameter name; valid once the form is.
        self.assignments: dict = {}

    def parameter_fields(self):
        """The bound fields of the pipeline's parameters, in the graph's order."""
        return [f for f in self if f.name.startswith(PARAMETER_PREFIX)]

    def clean_tags(self) -> dict:
        tags = {}
        for pair in self.cleaned_data["tags"].split(","):
            if not pair.strip():
                continue
            key, equals, value = pair.partition("=")
            if not equals or not key.strip():
                raise forms.ValidationError(f"“{pair.strip()[:40]}” is not key=value.")
            tags[key.strip()[:255]] = value.strip()
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags.")
        return tags

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
            field = self.fields_of_details.get(detail.get("field", ""))
            if field is None and detail.get("field", "").startswith(ASSIGNMENT_PREFIX):
                field = PARAMETER_PREFIX + detail["field"].removeprefix(ASSIGNMENT_PREFIX)
            self.add_error(field if field in self.fields else None, detail["message"])


def _parameter_field(parameter: dict) -> forms.Field:
    name, kind, default = parameter["name"], parameter["type"], parameter.get("default_value")
    shown = ("true" if default else "false") if kind == "bool" else repr(default)
    help_text = f"{kind}, default {shown}"
    if kind == "bool":
        return forms.BooleanField(
            label=name, required=False, initial=bool(default), help_text=help_text
        )
    if kind in ("int", "float"):
        widget = forms.NumberInput(attrs={"step": "1" if kind == "int" else "any"})
        return forms.CharField(
            label=name, initial=default, widget=widget, strip=True, help_text=help_text
        )
    return forms.CharField(
        label=name, initial=default, required=False, strip=False, help_text=help_text
    )


def initial_for_run(run) -> dict:
    """A run form's initial values: those ``run`` was submitted with."""
    initial = {
        "experiment_name": run.experiment.name,
        "description": run.description,
        "tags": ", ".join(f"{k}={v}" for k, v in (run.tags or {}).items()),
    }
    for name, value in (run.parameters or {}).items():
        initial[PARAMETER_PREFIX + name] = value
    return initial


class FilterForm(forms.Form):
    """A GET form of optional filters; labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def filters(self) -> dict:
        """The valid, non-empty filters (invalid ones are left out and shown as errors)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v}


class RunFilterForm(FilterForm):
    """Endpoint, published pipeline and submitter picked from the workspace's own; experiment,
    status and date range."""

    endpoint = forms.TypedChoiceField(label="Endpoint", required=False, coerce=int)
    published = forms.TypedChoiceField(label="Published pipeline", required=False, coerce=int)
    experiment = forms.CharField(label="Experiment", required=False, max_length=255)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *RunStatus.choices]
    )
    submitted_by = forms.TypedChoiceField(label="Submitted by", required=False, coerce=int)
    created_after = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        choices = run_filter_choices(workspace)
        for name, empty in (
            ("endpoint", "Any endpoint"),
            ("published", "Any published pipeline"),
            ("submitted_by", "Anyone"),
        ):
            self.fields[name].choices = Choices([("", empty), *choices[name]])


class Choices(BaseChoiceIterator):
    """(value, label) pairs already in the form Django wants: given as such, a field does not
    check and copy each of them again (twice: field and widget), which for a thousand
    endpoints cost more than the query reading them."""

    def __init__(self, pairs: list[tuple]):
        self.pairs = pairs

    def __iter__(self):
        return iter(self.pairs)


class EndpointRunFilterForm(FilterForm):
    """The endpoint page's Runs tab: status and version."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *RunStatus.choices]
    )
    version = forms.CharField(label="Version", required=False, max_length=16)
