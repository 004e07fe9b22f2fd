import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from campaigns.blocks import BLOCK_TYPES, contrast_ratio, footer_colours
from campaigns.models import Brand
from campaigns.personalisation import TemplateProblem, recipient_values
from campaigns.rendering import PreviewUrls, TrackedUrls, compile_campaign, personalise
from contacts.consent import preferences_url
from tests.factories import CampaignFactory, ContactFactory, CouponFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXAMPLE_BLOCKS = {
    "header": {"tagline": "Good things, made slowly"},
    "heading": {"text": 'Hello {{ contact.first_name|default:"there" }}', "level": 1},
    "text": {"html": '<p>Our <a href="https://shop.example.com/sale">sale</a> is on.</p>'},
    "image": {"src": "https://shop.example.com/hero.jpg", "alt": "Autumn wool", "width": 600},
    "button": {"label": "Shop the sale", "url": "https://shop.example.com/sale"},
    "products": {"title": "Picked for you", "rule": "bestsellers", "count": 3},
    "coupon": {"title": "Your code", "text": "10% off"},
    "divider": {},
    "social": {"links": [{"network": "instagram", "url": "https://instagram.com/shop"}]},
    "html": {"html": '<table><tr><td style="padding:4px">Pasted cell</td></tr></table>'},
    "mjml": {
        "mjml": "<mj-section><mj-column><mj-text>From MJML</mj-text></mj-column></mj-section>"
    },
    "footer": {"text": "Questions? Reply to this mail."},
}


def campaign_of(*blocks, **fields):
    return CampaignFactory(
        content_blocks=[{"type": kind, **EXAMPLE_BLOCKS[kind]} for kind in blocks], **fields
    )


def render(campaign, contact=None, code="", urls=None):
    content = compile_campaign(campaign)
    values = recipient_values(contact or ContactFactory(first_name="Olga"), code)
    return personalise(content, values, urls or PreviewUrls())


LEFTOVER_MARKER = re.compile(r"mk[0-9a-f]{8}[fucl]\w+k")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Balance(HTMLParser):
    def __init__(self):
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


def assert_balanced(html: str):
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.open == []


def assert_has_footer(html: str, text: str):
    assert "1 Elm Street" in html and "Unsubscribe" in html and "Manage preferences" in html
    assert "Unsubscribe" in text and "Manage preferences" in text


def test_every_block_type_has_an_example():
    assert set(EXAMPLE_BLOCKS) == set(BLOCK_TYPES)


@pytest.mark.parametrize("kind", sorted(BLOCK_TYPES))
def test_each_block_renders_a_valid_mail_with_the_footer(kind):
    ProductFactory.create_batch(3)
    campaign = campaign_of(kind, postal_address="1 Elm Street", coupon=CouponFactory(code="C10"))
    mail = render(campaign, code="C10")
    assert mail.html.lower().startswith("<!doctype html>") and mail.html.endswith("</html>")
    assert mail.html.count("<body") == 1
    assert_balanced(mail.html)
    assert not LEFTOVER_MARKER.search(mail.html + mail.text)  # every slot was filled
    assert_has_footer(mail.html, mail.text)


def test_blocks_render_what_they_say():
    ProductFactory(name="Wool socks", price="9.50", currency="EUR", sales_count=9)
    campaign = campaign_of(*EXAMPLE_BLOCKS, coupon=CouponFactory(code="AUTUMN10"))
    mail = render(campaign, ContactFactory(first_name="Olga"), code="AUTUMN10")
    for expected in (
        "Good things, made slowly", "Hello Olga", "Shop the sale", "Wool socks", "€9.50",
        "AUTUMN10", "Pasted cell", "From MJML", "Questions? Reply to this mail.",
        'src="https://shop.example.com/hero.jpg"', 'alt="Autumn wool"',
    ):  # fmt: skip
        assert expected in mail.html, expected
    assert "Hello Olga" in mail.text and "AUTUMN10" in mail.text and "Wool socks" in mail.text


def test_a_footer_is_added_when_the_blocks_have_none():
    mail = render(campaign_of("heading", postal_address="1 Elm Street"))
    assert_has_footer(mail.html, mail.text)


def test_the_mail_language_comes_from_its_locale():
    assert '<html lang="en"' in render(campaign_of("heading")).html
    assert '<html lang="ru"' in render(campaign_of("heading", locale="ru")).html
    assert "Отписаться" in render(campaign_of("heading", locale="ru")).html


def test_brand_colours_font_and_logo_apply_to_every_block():
    Brand.objects.create(
        pk=1, name="Wool & Co", logo_url="https://shop.example.com/logo.png",
        primary_color="#0b7285", link_color="#862e9c", font="georgia",
    )  # fmt: skip
    html = render(campaign_of("header", "text", "button")).html
    assert 'src="https://shop.example.com/logo.png"' in html and 'alt="Wool &amp; Co"' in html
    assert "#0b7285" in html  # the button
    assert re.search(r'<a href="[^"]*sale"[^>]*color: ?#862e9c', html)  # body links
    assert "Georgia" in html


@pytest.mark.parametrize("background", ["#f3f4f6", "#ffffff", "#1f2937", "#4f46e5", "#ffe066"])
def test_the_footer_meets_wcag_aa_contrast_on_any_page_colour(background):
    assert contrast_ratio(footer_colours(background), background) >= 4.5


def test_the_footer_links_in_the_mail_use_the_readable_colour():
    Brand.objects.create(pk=1, background_color="#f3f4f6")
    html = render(campaign_of("heading")).html
    colour = footer_colours("#f3f4f6")
    assert (
        f'style="color:{colour};text-decoration:underline">Unsubscribe'
        in html.replace(f"color: {colour}", f"color:{colour}")
        or f"color:{colour}" in html
    )
    assert contrast_ratio(colour, "#f3f4f6") >= 4.5


def test_links_of_blocks_are_tracked_and_recorded():
    content = compile_campaign(campaign_of("text", "button", "social"))
    assert content.links[:2] == ["https://shop.example.com/sale", "https://instagram.com/shop"]
    mail = personalise(content, recipient_values(ContactFactory()), TrackedUrls(7))
    assert "https://shop.example.com/sale" not in mail.html
    assert "/t/c/" in mail.text


def test_the_footer_links_to_the_recipients_own_preference_centre():
    contact = ContactFactory()
    mail = personalise(
        compile_campaign(campaign_of("heading")), recipient_values(contact), TrackedUrls(7)
    )
    unsubscribe = re.search(r'href="([^"]+)"[^>]*>Unsubscribe', mail.html)[1]
    preferences = re.search(r'href="([^"]+)"[^>]*>Manage preferences', mail.html)[1]
    assert "/t/u/" in unsubscribe
    assert preferences == preferences_url(contact)


def test_the_text_part_is_generated_and_can_be_written_by_hand():
    generated = render(campaign_of("heading", "button")).text
    assert "Shop the sale" in generated and "Hello Olga" in generated
    own = render(campaign_of("heading", "button", text_body="Hi {{ contact.first_name }}!")).text
    assert own.startswith("Hi Olga!")
    assert "Shop the sale" not in own
    assert "Unsubscribe" in own  # the footer stays


def test_scripts_in_text_and_custom_html_blocks_are_removed():
    campaign = CampaignFactory(
        content_blocks=[
            {"type": "text", "html": '<p onclick="x()">Hi</p><script>alert(1)</script>'},
            {"type": "html", "html": '<div style="color:red">Ok</div><iframe src="x"></iframe>'},
        ]
    )
    html = render(campaign).html
    assert "alert(1)" not in html and "onclick" not in html and "<iframe" not in html
    assert "Ok" in html


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "button", "label": "Go", "url": "javascript:alert(1)"}, "must start with https"),
        ({"type": "button", "label": "Go", "url": ""}, "add the web address"),
        ({"type": "image", "src": "data:image/png;base64,xx"}, "must start with https"),
        ({"type": "mjml", "mjml": "<mj-section><mj-raw><script>x</script></mj-raw></mj-section>"},
         "not allowed"),
        ({"type": "mjml", "mjml": "<p>html</p>"}, "start with <mj-section>"),
        ({"type": "products", "rule": "manual", "product_ids": []}, "pick at least one product"),
        ({"type": "marquee"}, "unknown block type"),
    ],
)  # fmt: skip
def test_broken_blocks_are_explained_with_their_place(block, message):
    campaign = CampaignFactory(content_blocks=[{"type": "heading", "text": "Hi"}, block])
    with pytest.raises(TemplateProblem, match=f"Block 2.*{re.escape(message)}"):
        compile_campaign(campaign)


def test_a_campaign_without_blocks_still_uses_its_html_body():
    campaign = CampaignFactory(locale="de")
    mail = render(campaign)
    assert "Hello Olga," in mail.html and '<html lang="de"' in mail.html


def test_the_coupon_block_shows_each_recipients_code_and_expiry_in_their_time_zone():
    coupon = CouponFactory(
        kind="unique", code="", expires_at=datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    )
    content = compile_campaign(campaign_of("coupon", coupon=coupon))
    tokyo = ContactFactory(time_zone="Asia/Tokyo")
    values = recipient_values(tokyo, "AUT-123", coupon.expires_at)
    mail = personalise(content, values, PreviewUrls())
    assert "AUT-123" in mail.html and "AUT-123" in mail.text
    assert "Valid until 1 January 2027, 07:30 (Asia/Tokyo)" in mail.html
    berlin = recipient_values(ContactFactory(time_zone="Europe/Berlin"), "AUT-9", coupon.expires_at)
    assert (
        "31 December 2026, 23:30 (Europe/Berlin)"
        in personalise(content, berlin, PreviewUrls()).text
    )
