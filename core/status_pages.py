"""The studio's side of the status switch: the reason posted with Disable/Enable, and
switching the rows selected in a list after one confirmation naming them.

Views of the apps check the Admin role, then call these with their model.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from .models import STATUS_REASON_MAX_LENGTH
from .sql import MAX_ID

BULK_MAX = 100
BAD_REASON = f"The reason may have at most {STATUS_REASON_MAX_LENGTH} characters; nothing changed."


class StatusChangeForm(forms.Form):
    """The optional reason given with Disable or Enable."""

    reason = forms.CharField(label="Reason", max_length=STATUS_REASON_MAX_LENGTH, required=False)


class BulkStatusForm(StatusChangeForm):
    """Disable or enable the selected rows of a list (``ids``: one value per row)."""

    action = forms.ChoiceField(choices=[("disable", "Disable"), ("enable", "Enable")])
    ids = forms.CharField(required=False, widget=forms.MultipleHiddenInput)

    def clean_ids(self) -> list[int]:
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        if not raw:
            raise forms.ValidationError("Select at least one row.")
        if len(raw) > BULK_MAX:
            raise forms.ValidationError(f"Select at most {BULK_MAX} rows at once.")
        if not all(text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID for text in raw):
            raise forms.ValidationError("The selection is not a list of ids.")
        return sorted({int(text) for text in raw})


def posted_reason(request) -> str | None:
    """The reason posted with Disable/Enable, or None when it cannot be kept."""
    form = StatusChangeForm(request.POST)
    return form.cleaned_data["reason"] if form.is_valid() else None


def switch_selected(request, model, *, list_url: str, noun: str):
    """Disable or enable the ``model`` rows selected in a list (the caller checked the Admin
    role): a GET asks for confirmation naming them (and a reason), a POST switches them
    all or none and goes back to ``list_url``."""
    form = BulkStatusForm(request.POST if request.method == "POST" else request.GET)
    context = {"form": form, "noun": noun, "list_url": list_url}
    if not form.is_valid():
        return render(request, "_bulk_confirm.html", context, status=400)
    ids, action = form.cleaned_data["ids"], form.cleaned_data["action"]
    objects = list(model.objects.filter(workspace=request.workspace, pk__in=ids).order_by("name"))
    if len(objects) != len(ids):
        raise Http404("Some of the selected rows are not in this workspace.")
    if request.method == "POST":
        changed = model.set_enabled_many(
            request.workspace,
            ids,
            action == "enable",
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        names = ", ".join(f"“{obj}”" for obj in sorted(changed, key=lambda o: o.name))
        messages.success(request, f"{action.capitalize()}d {len(changed)} {noun}s: {names}.")
        return redirect(list_url)
    context.update(objects=objects, action=action, ids=ids)
    return render(request, "_bulk_confirm.html", context)
