"""Forms of the automation builder."""

from django import forms

from campaigns.models import Automation
from contacts.models import Segment

T = Automation.Trigger
DELAY_UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}


class AutomationForm(forms.ModelForm):
    exit_on = forms.MultipleChoiceField(
        label="Stop the series when",
        choices=Automation.Exit.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Checked before every mail: a contact who did this gets no more of it.",
    )

    class Meta:
        model = Automation
        fields = ["name", "trigger", "kind", "segment", "exit_on", "days", "date_attribute",
                  "min_seconds", "run_on"]  # fmt: skip
        labels = {
            "trigger": "Starts when",
            "kind": "Kind of mail",
            "segment": "Only for contacts in",
            "days": "Days",
            "date_attribute": "Date attribute",
            "min_seconds": "Least time on the product page (seconds)",
            "run_on": "Date",
        }
        help_texts = {
            "days": "Without an order for this many days; or this many days before the date.",
            "date_attribute": "A contact attribute holding a date, e.g. birthday (1990-05-17).",
            "run_on": "The day everyone in the segment gets it (once).",
        }
        widgets = {"run_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["segment"].empty_label = "Everyone"
        self.fields["days"].required = False
        self.fields["min_seconds"].required = False

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        data["days"] = data.get("days") or 0
        data["min_seconds"] = data.get("min_seconds") or 0
        if trigger == T.NO_ORDER and data["days"] < 1:
            self.add_error("days", "Say after how many days without an order.")
        if trigger == T.DATE and not (data.get("date_attribute") or "").strip():
            self.add_error("date_attribute", "Name the attribute that holds the date.")
        if trigger == T.ON_DATE and not data.get("run_on"):
            self.add_error("run_on", "Pick the day it goes out.")
        return data


class StepDelayForm(forms.Form):
    amount = forms.IntegerField(min_value=0, max_value=365 * 24 * 60, label="Wait")
    unit = forms.ChoiceField(choices=[(u, u) for u in DELAY_UNITS], label="Unit")

    @property
    def minutes(self) -> int:
        return self.cleaned_data["amount"] * DELAY_UNITS[self.cleaned_data["unit"]]


def delay_parts(minutes: int) -> tuple[int, str]:
    """A delay as the form shows it: the largest whole unit."""
    for unit in ("days", "hours"):
        size = DELAY_UNITS[unit]
        if minutes and minutes % size == 0:
            return minutes // size, unit
    return minutes, "minutes"
