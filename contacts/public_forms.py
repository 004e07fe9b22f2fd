"""Forms of the recipients' pages: they only validate."""

from django import forms

from contacts.addresses import email_problem, normalise_email
from contacts.models import MailFrequency


class SignupForm(forms.Form):
    error_messages = {
        "consent": "Tick the box to agree, or we cannot send you mail.",
    }

    email = forms.CharField(
        label="Email address",
        max_length=254,
        error_messages={"required": "Enter your email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        label="First name (optional)",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    consent = forms.BooleanField(required=False)
    # The honeypot: hidden from people, filled in by bots that fill in everything.
    website = forms.CharField(required=False)

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        if problem := email_problem(email):
            raise forms.ValidationError(
                f"This does not look like an email address: {problem}", code="invalid"
            )
        return email

    def clean_consent(self):
        if not self.cleaned_data.get("consent"):
            raise forms.ValidationError(self.error_messages["consent"], code="consent")
        return True

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PreferencesForm(forms.Form):
    topics = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])
    frequency = forms.ChoiceField(
        choices=MailFrequency.choices, required=False, widget=forms.RadioSelect
    )

    def __init__(self, *args, topics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].choices = [
            (group.pk, group.public_name or group.name) for group in topics
        ]
