from django import forms
from django.db.models import Q

from campaigns.models import Campaign, Product
from campaigns.personalisation import TemplateProblem, parse

MERGE_FIELD_HELP = (
    'Personalise with merge fields such as {{ contact.first_name|default:"there" }}, '
    "{{ contact.email }}, {{ contact.attributes.city }} or {{ coupon.code }}."
)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "kind",
            "subject",
            "preheader",
            "from_name",
            "from_email",
            "reply_to",
            "body",
            "postal_address",
            "groups",
            "segments",
            "excluded_groups",
            "excluded_segments",
            "products",
            "coupon",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
            "groups": forms.CheckboxSelectMultiple,
            "segments": forms.CheckboxSelectMultiple,
            "excluded_groups": forms.CheckboxSelectMultiple,
            "excluded_segments": forms.CheckboxSelectMultiple,
            "products": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "subject": MERGE_FIELD_HELP,
            "body": "HTML: paragraphs, headings, lists, links and images. " + MERGE_FIELD_HELP,
            "groups": "The mail goes to every contact in any of these groups or segments, once.",
            "segments": "Segments are evaluated when the campaign is sent.",
            "excluded_groups": "Nobody in these groups gets the mail, even if chosen above.",
            "excluded_segments": "Nobody in these segments gets the mail.",
            "products": "Shown as recommended products below the body.",
            "postal_address": "Shown in the footer; the law asks for it in marketing mail.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Inactive products are not offered, but one already chosen stays visible.
        chosen = self.instance.products.all() if self.instance.pk else Product.objects.none()
        self.fields["products"].queryset = Product.objects.filter(
            Q(active=True) | Q(pk__in=chosen.values("pk"))
        ).order_by("name")
        self.fields["coupon"].empty_label = "No coupon"
        self.fields["excluded_groups"].label = "Leave out groups"
        self.fields["excluded_segments"].label = "Leave out segments"

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
            raise forms.ValidationError("Subject: must be one line.", code="newline")
        return subject

    def clean_preheader(self) -> str:
        return self._merge_fields("preheader", "Preheader")

    def clean_body(self) -> str:
        return self._merge_fields("body", "Body")
