"""Forms of the contact and segment pages: they validate, services write."""

import json
import zoneinfo

from django import forms

from contacts.addresses import email_problem
from contacts.models import Contact, EngagementTier, Group, Segment
from contacts.segments import segment_rules_clean

# Only the contact may undo these (by subscribing again): staff cannot.
OPTED_OUT = {Contact.Status.UNSUBSCRIBED, Contact.Status.BOUNCED, Contact.Status.COMPLAINED}


class ContactForm(forms.ModelForm):
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='A JSON object, e.g. {"city": "Riga", "vip": true}. Used in segments and '
        "merge fields.",
    )

    class Meta:
        model = Contact
        fields = ["email", "first_name", "last_name", "status", "locale", "time_zone", "groups"]
        widgets = {"groups": forms.CheckboxSelectMultiple}
        help_texts = {
            "status": "Unsubscribed, bounced and complained contacts can only be subscribed "
            "again by themselves.",
            "time_zone": "A name like Europe/Berlin; campaigns use it for local send times.",
        }
        error_messages = {
            "email": {"unique": "A contact with this address exists already."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = Group.objects.order_by("name")
        self.fields["groups"].required = False
        if self.instance.pk:
            self.initial["attributes"] = (
                json.dumps(self.instance.attributes, ensure_ascii=False, indent=1)
                if self.instance.attributes
                else ""
            )
            self._status_before = self.instance.status
        else:
            self._status_before = None

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if problem := email_problem(email):
            raise forms.ValidationError(problem, code="invalid")
        return email

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self._status_before in OPTED_OUT and status != self._status_before:
            raise forms.ValidationError(
                f"This contact is {self.instance.get_status_display().lower()}; only they can "
                "subscribe again, through a sign-up form.",
                code="opted_out",
            )
        return status

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                f"“{name}” is not a time zone; use a name like Europe/Berlin.", code="time_zone"
            )
        return name

    def clean_attributes(self) -> dict:
        text = self.cleaned_data["attributes"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise forms.ValidationError(
                'Write the attributes as a JSON object, e.g. {"city": "Riga"}.', code="json"
            )
        return value


class SegmentForm(forms.ModelForm):
    rules = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "segment-rules-json"}),
        help_text='The rules as JSON: {"match": "all", "rules": [{"field": "status", "op": "eq", '
        '"value": "subscribed"}]}.',
    )

    class Meta:
        model = Segment
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        error_messages = {"name": {"unique": "A segment with this name exists already."}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = self.instance.rules if self.instance.pk else {"match": "all", "rules": []}
        self.initial.setdefault("rules", json.dumps(rules, ensure_ascii=False))

    def clean_rules(self) -> dict:
        try:
            rules = json.loads(self.cleaned_data["rules"])
        except ValueError:
            raise forms.ValidationError("The rules are not valid JSON.", code="json") from None
        rules = segment_rules_clean(rules)
        if not rules["rules"]:
            raise forms.ValidationError(
                "Add at least one rule: a segment without rules would be every contact.",
                code="empty",
            )
        return rules


BULK_ACTIONS = {
    "add_to_group": "Add to group",
    "remove_from_group": "Remove from group",
    "unsubscribe": "Unsubscribe",
    "delete": "Delete",
}
CONFIRMED_ACTIONS = {"unsubscribe", "delete"}


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "Choose an action…"), *BULK_ACTIONS.items()])
    scope = forms.ChoiceField(
        choices=[("selected", "Selected contacts"), ("all", "All matching contacts")],
        initial="selected",
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    # Not "group": that name is the list's group filter, posted along.
    target_group = forms.ModelChoiceField(Group.objects.all(), required=False, empty_label="Group…")
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be posted; ids of contacts gone meanwhile simply match nothing.
        self.fields["ids"].valid_value = lambda value: True

    def clean(self):
        data = super().clean()
        if data.get("action") in ("add_to_group", "remove_from_group") and not data.get(
            "target_group"
        ):
            self.add_error("target_group", "Choose the group to add to or remove from.")
        if data.get("scope") == "selected" and not data.get("ids"):
            raise forms.ValidationError(
                "Tick the contacts first, or choose all matching contacts.", code="none"
            )
        return data


def tier_choices() -> list[tuple[str, str]]:
    return list(EngagementTier.choices)
