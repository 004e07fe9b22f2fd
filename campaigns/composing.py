"""The composer: compiling a campaign made of blocks, templates, duplicates.

A campaign of blocks compiles once per language into the same CompiledContent
the sending pipeline knows; every language shares one list of links, so a
click token means the same link whichever version the recipient got.
"""

import html
from dataclasses import dataclass

from django.db import transaction
from django.template.loader import render_to_string
from mjml import mjml2html

from campaigns import recommendations
from campaigns.blocks import (
    BlockContext,
    ProductCard,
    blocks_clean,
    blocks_to_mjml,
    footer_colours,
    format_price,
    ui_text,
)
from campaigns.models import Brand, Campaign, CampaignTemplate
from campaigns.personalisation import MergeField, TemplateProblem, parse
from campaigns.rendering import (
    _CSS_INLINER,
    CompiledContent,
    _lang,
    _link_index,
    _Markers,
    _rewrite_html_links,
    _rewrite_text_links,
    sanitise_body,
    sanitise_custom_html,
    with_honeypot,
)
from contacts.models import Contact

LOCALE_NAMES = {
    "en": "English",
    "ru": "Russian",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "pl": "Polish",
    "uk": "Ukrainian",
    "tr": "Turkish",
    "zh": "Chinese",
}


@dataclass
class LocaleVersion:
    locale: str
    subject: str
    preheader: str
    blocks: list[dict]
    text_body: str = ""


def campaign_versions(campaign: Campaign) -> list[LocaleVersion]:
    """The main version first, then the other languages."""
    versions = [
        LocaleVersion(
            campaign.locale or "en",
            campaign.subject,
            campaign.preheader,
            campaign.content_blocks,
            campaign.text_body,
        )
    ]
    for code, version in sorted((campaign.locale_content or {}).items()):
        if code == campaign.locale or not isinstance(version, dict):
            continue
        versions.append(
            LocaleVersion(
                code,
                version.get("subject") or campaign.subject,
                version.get("preheader", ""),
                version.get("blocks") or campaign.content_blocks,
                version.get("text_body", ""),
            )
        )
    return versions


class _Compilation:
    """State shared by the languages of one campaign: markers, links, picks."""

    def __init__(self, campaign: Campaign, brand: Brand):
        self.campaign, self.brand = campaign, brand
        self.markers = _Markers()
        self.links: list[str] = []
        self.candidates: list[dict] | None = None
        self.slots = 0
        self._rule_products: dict[tuple, list] = {}

    def products_for(self, block: dict) -> list[ProductCard]:
        if block["rule"] == "personal":
            return self._personal_cards(block)
        key = (block["rule"], tuple(block["product_ids"]), block["category"], block["count"])
        if key not in self._rule_products:
            self._rule_products[key] = recommendations.products_by_rule(
                rule=block["rule"],
                product_ids=block["product_ids"],
                category=block["category"],
                count=block["count"],
            )
        return [
            ProductCard(
                name=html.escape(product.name),
                price=html.escape(format_price(product.price, product.currency)),
                image=html.escape(product.image_url),
                url=html.escape(product.url),
            )
            for product in self._rule_products[key]
        ]

    def _personal_cards(self, block: dict) -> list[ProductCard]:
        if self.candidates is None:
            self.candidates = recommendations.candidates_freeze(
                links=self.links, link_index=_link_index
            )
        # A second per-recipient block continues with the next picks; every
        # language reuses the same slots.
        start = getattr(self, "_slot_cursor", 0)
        count = min(block["count"], max(len(self.candidates) - start, 0))
        self._slot_cursor = start + count
        self.slots = max(self.slots, self._slot_cursor)
        field = self.markers.for_field
        return [
            ProductCard(
                name=field(MergeField(f"products.{slot}.name")),
                price=field(MergeField(f"products.{slot}.price")),
                image=field(MergeField(f"products.{slot}.image")),
                url=self.markers.for_recipient_link(f"products.{slot}.link"),
            )
            for slot in range(start, start + count)
        ]

    def compile(self, version: LocaleVersion, where: str) -> CompiledContent:
        campaign, markers = self.campaign, self.markers
        self._slot_cursor = 0
        subject = version.subject
        if "\n" in subject or "\r" in subject:
            raise TemplateProblem(f"{where}Subject: must be one line.")
        subject_segments = [
            part if isinstance(part, str) else ("f", part.path, part.default)
            for part in parse(subject, f"{where}Subject")
        ]
        blocks = blocks_clean(version.blocks, where=f"{where}Block")
        context = BlockContext(
            markers=markers,
            brand=self.brand,
            locale=version.locale,
            from_name=campaign.from_name,
            postal_address=campaign.postal_address,
            coupon=campaign.coupon,
            sanitise=sanitise_body,
            products_for=self.products_for,
        )
        pieces = []
        for block in blocks:
            context.sanitise = sanitise_custom_html if block["type"] == "html" else sanitise_body
            pieces.extend(blocks_to_mjml([block], context))
        document = render_to_string(
            "campaigns/email/blocks.mjml",
            {
                "lang": _lang(version.locale),
                "subject": html.escape(markers.mark(subject, f"{where}Subject")),
                "preheader": html.escape(markers.mark(version.preheader, f"{where}Preheader")),
                "brand": self.brand,
                "footer_colour": footer_colours(self.brand.background_color),
                "words": ui_text(version.locale),
                "web_view_url": markers.for_url("web"),
                "blocks": pieces,
            },
        )
        try:
            html_document = mjml2html(document, disable_comments=True)
        except Exception as error:  # MRML reports bad markup as a plain exception
            raise TemplateProblem(f"{where}The mail could not be built ({error}).") from None
        html_document = _CSS_INLINER.inline(html_document)
        html_document = _rewrite_html_links(html_document, self.links, markers)
        text = self._text(version, context, where)
        text = _rewrite_text_links(text, self.links, markers)
        return CompiledContent(
            subject_segments, markers.segments(html_document), markers.segments(text), self.links
        )

    def _text(self, version: LocaleVersion, context: BlockContext, where: str) -> str:
        # The lines hold staff text, already checked: its fields become markers.
        footer = context.text_lines[-1]  # the footer always comes last
        if version.text_body.strip():
            text = f"{version.text_body.strip()}\n\n{footer}\n"
        else:
            text = "\n\n".join(line for line in context.text_lines if line.strip()) + "\n"
        return self.markers.mark(text, f"{where}Plain-text part")


def compile_blocks_campaign(campaign: Campaign, *, brand: Brand | None = None) -> CompiledContent:
    compilation = _Compilation(campaign, brand or Brand.current())
    versions = campaign_versions(campaign)
    main = compilation.compile(versions[0], "")
    for version in versions[1:]:
        name = LOCALE_NAMES.get(version.locale, version.locale)
        main.locales[version.locale] = compilation.compile(version, f"{name} version: ")
    if compilation.slots:
        main.picks = {"slots": compilation.slots, "candidates": compilation.candidates}
        for content in main.locales.values():
            content.picks = main.picks
    return with_honeypot(main)


# --- Starting points ----------------------------------------------------------------


def campaign_initial_blocks(campaign: Campaign | None) -> list[dict]:
    """What the composer opens with: the campaign's blocks, its classic HTML
    body as a custom HTML block, or a simple start for a new campaign."""
    if campaign is not None and campaign.content_blocks:
        return campaign.content_blocks
    if campaign is not None and campaign.body:
        blocks = [{"type": "header", "tagline": ""}, {"type": "html", "html": campaign.body}]
        product_ids = list(campaign.products.values_list("pk", flat=True)) if campaign.pk else []
        if product_ids:
            blocks.append(
                {"type": "products", "title": "", "rule": "manual",
                 "product_ids": product_ids[:6], "category": "", "count": len(product_ids[:6])}
            )  # fmt: skip
        if campaign.coupon_id:
            blocks.append({"type": "coupon", "title": "", "text": ""})
        return [*blocks, {"type": "footer", "text": ""}]
    return [
        {"type": "header", "tagline": ""},
        {"type": "heading", "text": 'Hello {{ contact.first_name|default:"there" }}!',
         "level": 1, "align": "left"},
        {"type": "text", "html": "<p>Write something worth reading.</p>"},
        {"type": "footer", "text": ""},
    ]  # fmt: skip


def contact_attribute_names(limit: int = 30) -> list[str]:
    """The custom attribute names contacts have, for the merge-field picker."""
    names: set[str] = set()
    for attributes in Contact.objects.exclude(attributes={}).values_list("attributes", flat=True)[
        :500
    ]:
        if isinstance(attributes, dict):
            names.update(key for key, value in attributes.items() if not isinstance(value, list))
    return sorted(names)[:limit]


@transaction.atomic
def campaign_duplicate(*, campaign: Campaign, user) -> Campaign:
    """A new draft with the same content, audience and extras."""
    copy = Campaign.objects.get(pk=campaign.pk)
    copy.pk = None
    copy.name = f"{campaign.name} (copy)"[:200]
    copy.status = Campaign.Status.DRAFT
    copy.created_by = user
    copy.save()
    copy.groups.set(campaign.groups.all())
    copy.products.set(campaign.products.all())
    return copy


def campaign_save_as_template(*, campaign: Campaign, name: str, user) -> CampaignTemplate:
    return CampaignTemplate.objects.create(
        name=name,
        description=f"Saved from “{campaign.name}”."[:300],
        subject=campaign.subject,
        preheader=campaign.preheader,
        content_blocks=campaign_initial_blocks(campaign),
        locale=campaign.locale,
        locale_content=campaign.locale_content,
        created_by=user,
    )


def campaign_apply_template(*, campaign: Campaign, template: CampaignTemplate) -> Campaign:
    """An unsaved campaign's content taken from a template (the form shows it)."""
    campaign.subject = template.subject
    campaign.preheader = template.preheader
    campaign.content_blocks = template.content_blocks
    campaign.locale = template.locale
    campaign.locale_content = template.locale_content
    return campaign


def campaign_templates() -> list[CampaignTemplate]:
    """The starters in their own order, then the templates staff saved, newest first."""
    from campaigns.starters import STARTERS, starter_templates_ensure

    starter_templates_ensure()
    order = {starter["slug"]: n for n, starter in enumerate(STARTERS)}
    templates = CampaignTemplate.objects.order_by("-created_at")
    return sorted(templates, key=lambda t: (order.get(t.slug, len(order)), not t.slug))
