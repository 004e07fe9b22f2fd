"""Merge fields: only the known ones, hostile values escaped, problems explained when saving."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.personalisation import (
    TemplateProblem,
    coupon_expiry_text,
    merge_field_choices,
    parse,
    recipient_values,
)
from campaigns.rendering import PreviewUrls, compile_campaign, personalise
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


def blocks_mail(contact, *blocks, **fields):
    campaign = CampaignFactory(content_blocks=list(blocks), **fields)
    return personalise(compile_campaign(campaign), recipient_values(contact), PreviewUrls())


HEADING = {"type": "heading", "text": 'Hi {{ contact.first_name|default:"there" }}!'}


def test_html_in_a_first_name_is_escaped_in_every_block():
    eve = ContactFactory(first_name='<img src=x onerror="alert(1)">Eve')
    mail = blocks_mail(
        eve,
        HEADING,
        {"type": "text", "html": "<p>Dear {{ contact.first_name }}</p>"},
        {"type": "button", "label": "For {{ contact.first_name }}", "url": "https://x.example"},
    )
    assert "<img src=x" not in mail.html and 'onerror="alert' not in mail.html
    # the three blocks, the subject in <title> and the heading's copy in the preheader
    assert mail.html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Eve") >= 3
    assert "Hi <img" in mail.text  # the text part is plain text: nothing to escape


def test_a_missing_value_shows_the_default_or_nothing():
    mail = blocks_mail(
        ContactFactory(first_name="", attributes={}),
        HEADING,
        {"type": "text", "html": "<p>Size [{{ contact.attributes.size }}]</p>"},
    )
    assert "Hi there!" in mail.html and "Size []" in mail.html


def test_custom_attributes_fill_in_and_lists_or_objects_do_not():
    contact = ContactFactory(attributes={"city": "Oslo", "tags": ["a"], "nested": {"x": 1}})
    text = (
        "<p>{{ contact.attributes.city }}|{{ contact.attributes.tags|default:'none' }}|"
        "{{ contact.attributes.nested|default:'none' }}</p>"
    )
    mail = blocks_mail(contact, {"type": "text", "html": text})
    assert "Oslo|none|none" in mail.html


def test_each_language_has_its_own_defaults():
    campaign = CampaignFactory(
        content_blocks=[HEADING],
        locale_content={
            "ru": {"subject": "Привет", "blocks": [
                {"type": "heading", "text": 'Привет, {{ contact.first_name|default:"друг" }}!'}
            ]},
        },
    )  # fmt: skip
    content = compile_campaign(campaign)
    english = personalise(content, recipient_values(ContactFactory(first_name="")), PreviewUrls())
    russian = personalise(
        content, recipient_values(ContactFactory(first_name="", locale="ru")), PreviewUrls()
    )
    assert "Hi there!" in english.html
    assert "Привет, друг!" in russian.html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ settings.SECRET_KEY }}", "unknown field “settings.SECRET_KEY”"),
        ("{% load static %}", "template tags"),
        ('{% include "base.html" %}', "template tags"),
        ("{{ contact.__class__.__init__.__globals__ }}", "unknown field"),
        ("{{ contact.attributes.__class__ }}", "unknown field"),
        ("{{ contact.email.upper }}", "unknown field"),
        ("{{ contact.first_name|safe }}", "is not a field"),
        ("{{ contact.first_name", "never closed"),
        ("{{ request.user.password }}", "unknown field"),
    ],
)
def test_template_injection_is_refused(text, message):
    with pytest.raises(TemplateProblem, match=message):
        parse(text, "Body")


def test_injection_in_a_block_is_refused_when_saving_and_says_where(client, bob):
    client.force_login(bob)
    blocks = [
        {"type": "heading", "text": "Welcome"},
        {"type": "button", "label": "{{ settings.SECRET_KEY }}", "url": "https://x.example"},
    ]
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Sneaky", "kind": "marketing", "subject": "Hi", "from_name": "Shop",
            "from_email": "news@shop.example.com", "postal_address": "1 Elm St",
            "content_blocks": __import__("json").dumps(blocks), "locale": "en",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert not Campaign.objects.exists()
    page = response.content.decode()
    assert "Block 2 (Button): unknown field “settings.SECRET_KEY”" in page


def test_injection_in_another_language_is_refused_with_its_name(client, bob):
    client.force_login(bob)
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Sneaky", "kind": "marketing", "subject": "Hi", "from_name": "Shop",
            "from_email": "news@shop.example.com", "postal_address": "1 Elm St", "locale": "en",
            "content_blocks": '[{"type": "heading", "text": "Hi"}]',
            "locale_content": '{"ru": {"subject": "{% load evil %}", "blocks": []}}',
        },
    )  # fmt: skip
    assert not Campaign.objects.exists()
    assert "Russian version: Subject: template tags" in response.content.decode()


def test_the_coupon_expiry_shows_in_the_recipients_time_zone_and_language():
    moment = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    assert coupon_expiry_text(moment, "Europe/Berlin", "en") == (
        "31 December 2026, 23:30 (Europe/Berlin)"
    )
    assert coupon_expiry_text(moment, "Asia/Tokyo", "ru") == "1 января 2027, 07:30 (Asia/Tokyo)"
    assert coupon_expiry_text(moment, "Mars/Olympus", "en").endswith("22:30 (UTC)")


def test_the_field_picker_offers_the_attributes_that_exist():
    choices = dict(merge_field_choices(["city", "__class__", "size"]))
    assert choices["First name"] == '{{ contact.first_name|default:"there" }}'
    assert choices["Attribute: city"] == "{{ contact.attributes.city }}"
    assert "Attribute: __class__" not in choices
