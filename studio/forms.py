"""Forms of the studio's own pages: sign-in, members, API tokens and the audit filter."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from .models import Role
from .signin import SignInThrottle


class SignInForm(AuthenticationForm):
    """The password sign-in, refused for a while after repeated failures."""

    def clean(self):
        throttle = SignInThrottle(self.request, self.data.get("username") or "")
        if throttle.is_blocked():
            raise forms.ValidationError(throttle.message, code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure()
            raise
        throttle.record_success()
        return cleaned


class AddMemberForm(forms.Form):
    user = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READER)

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username__iexact=value).first()
        if user is None and "@" in value:
            matches = list(users.filter(email__iexact=value)[:2])
            if len(matches) > 1:
                raise forms.ValidationError("Several people have this e-mail; use the username.")
            user = matches[0] if matches else None
        if user is None:
            raise forms.ValidationError(
                f"No one called '{value}' has an account yet. People sign in once (or get an "
                "account from an administrator) before they can be added."
            )
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TokenForm(forms.Form):
    """A new API token: its role may be at most the creator's own."""

    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READER)
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", min_value=1, max_value=365, initial=90
    )

    def __init__(self, *args, max_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (value, label) for value, label in Role.choices if Role.at_least(max_role, value)
        ]

    def expires_at(self) -> datetime:
        return timezone.now() + timedelta(days=self.cleaned_data["expires_in_days"])


class AuditFilterForm(forms.Form):
    """Filters of the audit page; the choices are the people and actions seen in ``events``."""

    person = forms.ChoiceField(required=False)
    action = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        ordered = events.order_by()
        people = ordered.values_list("actor_label", flat=True).distinct()
        actions = ordered.values_list("action", flat=True).distinct()
        self.fields["person"].choices = [("", "Anyone")] + [(p, p) for p in sorted(people)]
        self.fields["action"].choices = [("", "Any action")] + [(a, a) for a in sorted(actions)]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned

    def filter(self, events):
        """``events`` narrowed to the valid filters (dates are whole days, both included)."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        if data.get("person"):
            events = events.filter(actor_label=data["person"])
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("since"):
            events = events.filter(created_at__gte=datetime.combine(data["since"], time.min, zone))
        if data.get("until"):
            end = datetime.combine(data["until"] + timedelta(days=1), time.min, zone)
            events = events.filter(created_at__lt=end)
        return events
