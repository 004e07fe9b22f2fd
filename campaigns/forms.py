from django import forms
from django.db.models import Q

from campaigns.blocks import blocks_clean
from campaigns.composing import LOCALE_NAMES
from campaigns.models import Brand, Campaign, Product
from campaigns.personalisation import TemplateProblem, parse

LOCALE_CHOICES = list(LOCALE_NAMES.items())
KIND_CHOICES = [
    (
        "marketing",
        "Marketing: newsletters, promotions, invitations. Skips contacts who unsubscribed or "
        "have not confirmed, and respects the frequency cap.",
    ),
    (
        "transactional",
        "Transactional: order and account mail only. Reaches every contact who has not bounced "
        "or complained, even the unsubscribed, ahead of marketing mail.",
    ),
]

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
            "locale",
            "content_blocks",
            "locale_content",
            "text_body",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
            "locale": forms.Select(choices=LOCALE_CHOICES),
            "content_blocks": forms.HiddenInput,
            "locale_content": forms.HiddenInput,
            "text_body": forms.Textarea(attrs={"rows": 8, "spellcheck": "true"}),
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
            "coupon": "The coupon block shows its code (each recipient's own for a unique-code "
            "coupon) and when it expires, in the recipient's time zone.",
            "text_body": "Some people read mail as plain text. Leave empty to have it written "
            "from the blocks; the footer with the unsubscribe link is always added.",
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

        self.fields["kind"].widget = forms.RadioSelect()
        self.fields["kind"].choices = KIND_CHOICES
        self.fields["kind"].help_text = ""
        # Forms that predate languages (and the API) may leave it out: the main
        # language then stays what it was.
        self.fields["locale"].required = False

    def clean_locale(self) -> str:
        return self.cleaned_data.get("locale") or self.instance.locale or "en"

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

    def clean_text_body(self) -> str:
        return self._merge_fields("text_body", "Plain-text part")

    def clean_content_blocks(self) -> list:
        blocks = self.cleaned_data.get("content_blocks") or []
        if not blocks:
            return []
        try:
            return blocks_clean(blocks)
        except TemplateProblem as problem:
            raise forms.ValidationError(str(problem), code="template") from None

    def clean_locale_content(self) -> dict:
        versions = self.cleaned_data.get("locale_content") or {}
        if not isinstance(versions, dict):
            raise forms.ValidationError("The other languages could not be read.", code="invalid")
        cleaned = {}
        for code, version in versions.items():
            if code not in LOCALE_NAMES or not isinstance(version, dict):
                continue
            where = f"{LOCALE_NAMES[code]} version: "
            try:
                subject = str(version.get("subject", ""))[:200]
                if "\n" in subject or "\r" in subject:
                    raise TemplateProblem(f"{where}Subject: must be one line.")
                parse(subject, f"{where}Subject")
                preheader = str(version.get("preheader", ""))[:200]
                parse(preheader, f"{where}Preheader")
                blocks = version.get("blocks") or []
                cleaned[code] = {
                    "subject": subject,
                    "preheader": preheader,
                    "blocks": blocks_clean(blocks, where=f"{where}Block") if blocks else [],
                }
            except TemplateProblem as problem:
                raise forms.ValidationError(str(problem), code="template") from None
        return cleaned

    def clean(self):
        cleaned = super().clean()
        empty = not cleaned.get("content_blocks") and not (cleaned.get("body") or "").strip()
        if empty and "body" not in self.errors and "content_blocks" not in self.errors:
            self.add_error("content_blocks", "Add some content: at least one block.")
        return cleaned


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = [
            "name",
            "website_url",
            "logo_url",
            "logo_width",
            "primary_color",
            "button_text_color",
            "link_color",
            "text_color",
            "background_color",
            "font",
        ]
        widgets = {
            name: forms.TextInput(attrs={"type": "color"})
            for name in (
                "primary_color", "button_text_color", "link_color", "text_color",
                "background_color",
            )
        }  # fmt: skip
        labels = {
            "website_url": "Website",
            "button_text_color": "Button text colour",
            "link_color": "Link colour",
            "text_color": "Text colour",
        }
        help_texts = {
            "link_color": "Links in the text of every mail.",
            "background_color": "Around the mail; the footer text picks a colour that stays "
            "readable on it.",
        }


class SaveAsTemplateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Template name")
