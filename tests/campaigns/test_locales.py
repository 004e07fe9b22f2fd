"""Content per language: each contact gets its own, else the main one."""

import pytest
from django.core import mail as outbox

from campaigns.assembly import prepared_mail
from campaigns.models import Message, Send
from campaigns.personalisation import recipient_values
from campaigns.rendering import CompiledContent, PreviewUrls, compile_campaign, personalise
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bilingual(db):
    return CampaignFactory(
        subject="Autumn sale",
        locale="en",
        content_blocks=[
            {"type": "heading", "text": "Hello {{ contact.first_name|default:'there' }}"},
            {"type": "button", "label": "Shop", "url": "https://shop.example.com/sale"},
        ],
        locale_content={
            "ru": {
                "subject": "Осенняя распродажа",
                "preheader": "",
                "blocks": [
                    {"type": "heading", "text": "Привет, {{ contact.first_name|default:'друг' }}"},
                    {"type": "button", "label": "Купить", "url": "https://shop.example.com/ru"},
                ],
            }
        },
    )


def mail_for(campaign, contact):
    content = compile_campaign(campaign)
    return personalise(content, recipient_values(contact), PreviewUrls())


def test_each_contact_gets_its_languages_version(bilingual):
    russian = mail_for(bilingual, ContactFactory(locale="ru", first_name="Анна"))
    assert russian.subject == "Осенняя распродажа"
    assert "Привет, Анна" in russian.html and '<html lang="ru"' in russian.html
    assert "Отписаться" in russian.html and "Отписаться" in russian.text


@pytest.mark.parametrize("locale", ["en", "de", "", "ru-RU"])
def test_other_languages_fall_back_to_the_main_version_and_regions_to_their_language(
    bilingual, locale
):
    mail = mail_for(bilingual, ContactFactory(locale=locale, first_name="Kim"))
    if locale == "ru-RU":
        assert "Привет, Kim" in mail.html
    else:
        assert mail.subject == "Autumn sale" and "Hello Kim" in mail.html
        assert '<html lang="en"' in mail.html


def test_languages_share_one_list_of_links_so_click_tokens_agree(bilingual):
    content = compile_campaign(bilingual)
    # The last link is the hidden honeypot, shared by every version.
    assert content.links[:-1] == ["https://shop.example.com/sale", "https://shop.example.com/ru"]
    assert content.locales["ru"].honeypot == content.honeypot == len(content.links) - 1
    assert content.locales["ru"].links is content.links
    stored = CompiledContent.from_json(content.to_json())
    assert stored.for_locale("ru").links == content.links


def test_a_send_delivers_each_recipient_their_language(bilingual, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send = Send.objects.create(campaign=bilingual, content=compile_campaign(bilingual).to_json())
    prepared = prepared_mail(send)
    anna = ContactFactory(email="anna@example.org", locale="ru", first_name="Анна")
    kim = ContactFactory(email="kim@example.org", locale="en", first_name="Kim")
    for contact in (anna, kim):
        message = Message.objects.create(send=send, contact=contact, email=contact.email)
        raw = prepared.as_bytes(message)
        assert b"Subject: " in raw
        prepared.as_email(message).send()
    by_address = {m.to[0]: m for m in outbox.outbox}
    assert by_address["anna@example.org"].subject == "Осенняя распродажа"
    assert by_address["kim@example.org"].subject == "Autumn sale"
    assert "Привет, Анна" in by_address["anna@example.org"].alternatives[0][0]


def test_a_problem_in_another_language_names_it(bilingual):
    bilingual.locale_content["ru"]["blocks"][0]["text"] = "{{ contact.password }}"
    with pytest.raises(Exception, match="Russian version: Block 1 \\(Heading\\): unknown field"):
        compile_campaign(bilingual)
