import pytest

from campaigns import rendering
from campaigns.personalisation import TemplateProblem, recipient_values
from campaigns.rendering import PreviewUrls, TrackedUrls, compile_campaign, personalise
from tests.factories import CampaignFactory, ContactFactory, CouponFactory, ProductFactory

pytestmark = pytest.mark.django_db


def render(campaign, contact, code="", urls=None):
    content = compile_campaign(campaign)
    return personalise(content, recipient_values(contact, code), urls or TrackedUrls(42))


def test_it_fills_in_the_recipients_name_in_subject_html_and_text():
    mail = render(CampaignFactory(), ContactFactory(first_name="Olga"))
    assert mail.subject == "Spring sale, Olga!"
    assert "<title>Spring sale, Olga!</title>" in mail.html
    assert "Hello Olga," in mail.html
    assert "Hello Olga," in mail.text


def test_it_uses_the_default_when_a_field_is_empty():
    mail = render(CampaignFactory(), ContactFactory(first_name=""))
    assert mail.subject == "Spring sale, friend!"
    assert "Hello there," in mail.html


def test_it_escapes_names_in_html_and_keeps_headers_on_one_line():
    contact = ContactFactory(first_name="<b>Eve</b>\r\nBcc: x@evil.test")
    mail = render(CampaignFactory(), contact)
    assert "<b>Eve" not in mail.html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail.html
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_it_shows_custom_attributes():
    campaign = CampaignFactory(body="<p>Your size: {{ contact.attributes.size|default:'M' }}</p>")
    assert "Your size: XL" in render(campaign, ContactFactory(attributes={"size": "XL"})).html
    assert "Your size: M" in render(campaign, ContactFactory(attributes={})).html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<p>Hi {{ contact.first_name</p>", "never closed"),
        ("<p>Hi {{ contact.password }}</p>", "unknown field “contact.password”"),
        ("<p>Hi {{ contact.first_name|upper }}</p>", "is not a field"),
        ("<p>{% load evil %}</p>", "template tags"),
    ],
)
def test_it_explains_a_broken_template(body, message):
    with pytest.raises(TemplateProblem, match=message):
        compile_campaign(CampaignFactory(body=body))


def test_it_removes_scripts_from_the_body():
    campaign = CampaignFactory(body='<p onclick="x()">Hi</p><script>alert(1)</script>')
    html = render(campaign, ContactFactory()).html
    assert "alert(1)" not in html and "onclick" not in html


def test_it_rewrites_every_link_to_a_signed_click_url_and_records_it():
    product = ProductFactory(url="https://shop.example.com/p/boots")
    content = compile_campaign(CampaignFactory(products=[product]))
    assert content.links[:2] == [
        "https://shop.example.com/sale",
        "https://shop.example.com/p/boots",
    ]
    assert content.honeypot == 2  # the hidden link only machines follow
    mail = personalise(content, recipient_values(ContactFactory()), TrackedUrls(42))
    assert "https://shop.example.com/sale" not in mail.html
    assert mail.html.count('href="http://127.0.0.1:8000/t/c/') >= 2
    assert "/t/c/" in mail.text and "https://shop.example.com/sale" not in mail.text


def test_it_shows_products_coupon_footer_and_pixel():
    product = ProductFactory(name="Wool socks", price="9.50", currency="EUR")
    campaign = CampaignFactory(
        products=[product], coupon=CouponFactory(code="AUTUMN15"), postal_address="1 Elm St"
    )
    mail = render(campaign, ContactFactory(), code="AUTUMN15")
    for part in (mail.html, mail.text):
        assert "Wool socks" in part and "9.50 EUR" in part
        assert "AUTUMN15" in part and "1 Elm St" in part and "/t/u/" in part
    assert "/t/o/" in mail.html


def test_a_preview_links_to_the_real_pages_and_records_nothing():
    mail = render(CampaignFactory(), ContactFactory(), urls=PreviewUrls())
    assert 'href="https://shop.example.com/sale"' in mail.html
    assert "/t/" not in mail.html


def test_it_compiles_the_layout_once_for_many_recipients(monkeypatch):
    calls = []
    real = rendering.mjml2html
    monkeypatch.setattr(rendering, "mjml2html", lambda *a, **k: calls.append(1) or real(*a, **k))
    content = compile_campaign(CampaignFactory())
    for contact in ContactFactory.create_batch(5):
        personalise(content, recipient_values(contact), TrackedUrls(contact.pk))
    assert len(calls) == 1


def test_compiled_content_survives_storage_as_json():
    content = compile_campaign(CampaignFactory())
    again = rendering.CompiledContent.from_json(content.to_json())
    values = recipient_values(ContactFactory(first_name="Ida"))
    assert personalise(again, values, TrackedUrls(1)) == personalise(
        content, values, TrackedUrls(1)
    )
