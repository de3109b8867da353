"""Filters of the Runs pages, read from the query string so that every state has a URL."""

from __future__ import annotations

from django import forms

from .models import RunStatus


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
    """Endpoint, published pipeline, experiment, status, submitter and date range."""

    endpoint = forms.CharField(label="Endpoint", required=False, max_length=255)
    published = forms.CharField(label="Published pipeline", required=False, max_length=255)
    experiment = forms.CharField(label="Experiment", required=False, max_length=255)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *RunStatus.choices]
    )
    submitted_by = forms.CharField(label="Submitted by", required=False, max_length=150)
    created_after = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class EndpointRunFilterForm(FilterForm):
    """The endpoint page's Runs tab: status and version."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *RunStatus.choices]
    )
    version = forms.CharField(label="Version", required=False, max_length=16)
