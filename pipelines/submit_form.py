"""The studio's Submit form: the run form of :mod:`pipelines.forms` and, on an endpoint's
page, which version to run."""

from __future__ import annotations

from django import forms

from .forms import RunForm

# Posted by the version picker (its htmx request, or its button without JavaScript): show
# that version's fields instead of submitting.
CHANGE_VERSION = "change_version"


class SubmitForm(RunForm):
    """Submit a run of ``graph``; ``versions`` (endpoint pages only) adds "Pipeline version"."""

    def __init__(self, *args, versions=None, default_version: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if versions is not None:
            self.fields["pipeline_version"] = forms.ChoiceField(
                label="Pipeline version",
                choices=[(v.version, _version_label(v)) for v in versions],
                initial=default_version,
            )


def _version_label(version) -> str:
    published = version.published_pipeline
    label = f"{version.version} — {published.name}"
    if published.version:
        label += f" {published.version}"
    if version.is_default:
        label += " (default)"
    return label


def typed_so_far(data, *, experiment_name: str) -> dict:
    """Initial values for the form shown again for another version: the experiment name,
    description and tags as typed (cut to their fields' lengths); each version has its own
    parameters, so those start from the version's defaults."""
    fields = RunForm.base_fields
    return {
        "experiment_name": data.get("experiment_name", experiment_name)[
            : fields["experiment_name"].max_length
        ],
        "description": data.get("description", "")[: fields["description"].max_length],
        "tags": data.get("tags", "")[: fields["tags"].max_length],
    }
