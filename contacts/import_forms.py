"""Forms of the import pages: they only validate."""

from django import forms

from contacts.importing import TARGETS, mapping_problem
from contacts.models import Group


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet file",
        help_text="CSV or XLSX, up to 250 MB. Any encoding and delimiter; exports of Mailchimp "
        "and listmonk work as they are.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )


class ImportMappingForm(forms.Form):
    EXISTING = [
        ("skip", "Skip them: leave existing contacts as they are"),
        ("update", "Update them with the file's names, language, time zone and attributes"),
    ]
    error_messages = {
        "consent": "Import only people who agreed to receive your mail.",
    }

    groups = forms.ModelMultipleChoiceField(
        Group.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Add everyone to these groups",
    )
    new_group = forms.CharField(required=False, max_length=200, label="…and to a new group named")
    existing = forms.ChoiceField(
        choices=EXISTING,
        initial="skip",
        widget=forms.RadioSelect,
        label="Contacts you already have",
        help_text="Either way, nobody who unsubscribed, bounced, complained or is "
        "suppressed is subscribed again.",
    )
    consent = forms.BooleanField(
        label="These people agreed to receive marketing mail from us.",
        error_messages={"required": error_messages["consent"]},
    )

    def __init__(self, *args, headers: list[str], mapping: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=list(TARGETS.items()), initial=mapping[index], required=False, label=header
            )

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def clean(self):
        cleaned = super().clean()
        mapping = [cleaned.get(f"column_{index}", "") for index in range(len(self.headers))]
        if problem := mapping_problem(mapping):
            raise forms.ValidationError(problem, code="mapping")
        cleaned["mapping"] = mapping
        return cleaned
