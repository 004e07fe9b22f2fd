"""Forms of the campaign composer's sending side: schedule, test send, A/B test."""

from django import forms

from campaigns import localtime
from campaigns.models import ABTest, SendPlan
from campaigns.personalisation import TemplateProblem, parse

SCHEDULE_MODES = [
    (SendPlan.Mode.AT, "At a date and time"),
    (SendPlan.Mode.LOCAL, "At that time in each recipient's time zone"),
    (SendPlan.Mode.WEEKLY, "Every week from that date"),
]


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(
        label="When", choices=SCHEDULE_MODES, widget=forms.RadioSelect, initial=SendPlan.Mode.AT
    )
    local_date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    local_time = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.CharField(
        label="Time zone",
        initial="UTC",
        max_length=64,
        help_text="e.g. Europe/Berlin. Not used for each recipient's own time zone.",
    )

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if not localtime.is_known_zone(name):
            raise forms.ValidationError(f"“{name}” is not a time zone, e.g. Europe/Berlin.")
        return name


class TestSendForm(forms.Form):
    addresses = forms.CharField(
        label="Send a test to",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "you@shop.example.com"}),
        help_text="Up to 5 addresses, separated by commas or lines. Marked [Test]; "
        "not counted in reports or caps.",
    )
    variant = forms.CharField(required=False, max_length=1)


class ABTestForm(forms.Form):
    test_percent = forms.IntegerField(
        label="Test share (%)",
        min_value=2,
        max_value=100,
        initial=20,
        help_text="This share of the audience is split evenly and at random between the variants.",
    )
    metric = forms.ChoiceField(label="Winner by", choices=ABTest.Metric.choices)
    wait_hours = forms.IntegerField(
        label="Wait (hours)", min_value=1, max_value=168, initial=4,
        help_text="Then the winner goes to the rest of the audience.",
    )  # fmt: skip
    confidence = forms.TypedChoiceField(
        label="Confidence needed",
        choices=[(90, "90%"), (95, "95%"), (99, "99%")],
        coerce=int,
        initial=95,
        help_text="Without it, the default variant A goes to the rest.",
    )


class VariantForm(forms.Form):
    # Posted by the page (A, B, ...), never in the initial data: so even a
    # variant that keeps every field of the campaign counts as filled in.
    label = forms.CharField(required=False, max_length=1, widget=forms.HiddenInput)
    subject = forms.CharField(max_length=200, required=False)
    from_name = forms.CharField(label="Sender name", max_length=100, required=False)
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="HTML; empty: the campaign's.",
    )
    send_delay_minutes = forms.IntegerField(
        label="Send later by (minutes)", min_value=0, max_value=24 * 60, initial=0, required=False
    )

    def _merge_fields(self, name: str, where: str) -> str:
        text = self.cleaned_data[name]
        try:
            parse(text, where)
        except TemplateProblem as problem:
            raise forms.ValidationError(str(problem), code="template") from None
        return text

    def clean_subject(self) -> str:
        subject = self._merge_fields("subject", "Subject")
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("Subject: must be one line.")
        return subject

    def clean_from_name(self) -> str:
        name = self.cleaned_data["from_name"]
        if "\n" in name or "\r" in name:
            raise forms.ValidationError("The sender name must be one line.")
        return name

    def clean_body(self) -> str:
        return self._merge_fields("body", "Body")

    def clean_send_delay_minutes(self) -> int:
        return self.cleaned_data["send_delay_minutes"] or 0


VariantFormSet = forms.formset_factory(
    VariantForm, extra=0, min_num=2, max_num=4, validate_min=True, validate_max=True
)


class HoldoutForm(forms.Form):
    holdout_percent = forms.IntegerField(
        label="Holdout (%)",
        min_value=0,
        max_value=50,
        initial=0,
        help_text="This random share of the audience does not get the campaign, so its lift "
        "in orders and revenue can be measured. 0: nobody held out.",
    )
