from django import forms
from django.contrib.auth import get_user_model

from contacts.models import AuditEntry
from marketing_site.roles import ROLES

ROLE_CHOICES = [(role, role.title()) for role in ROLES]


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=150)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="marketer")

    error_messages = {"taken": "Someone on the team already uses this address."}

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        users = get_user_model().objects
        if (
            users.filter(email__iexact=email).exists()
            or users.filter(username__iexact=email).exists()
        ):
            raise forms.ValidationError(self.error_messages["taken"], code="taken")
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEntry.Action.choices]
    )
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    error_messages = {"order": "The start date is after the end date."}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(self.error_messages["order"], code="order")
        return cleaned
