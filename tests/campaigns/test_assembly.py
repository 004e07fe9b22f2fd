"""The mail bytes prepared once per send and filled in per recipient read, in
a mail client, exactly like the same mail built by Python's email package."""

import email
import email.policy

import pytest

from campaigns.assembly import prepared_mail
from campaigns.models import Message, Send
from campaigns.rendering import compile_campaign
from tests.factories import CampaignFactory, ContactFactory, CouponFactory, ProductFactory
from tests.helpers import html_part, parsed, text_part

pytestmark = pytest.mark.django_db


def read(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


@pytest.fixture
def campaign():
    return CampaignFactory(
        subject='Скидки для вас, {{ contact.first_name|default:"друг" }}!',
        from_name="Магазин Demo",
        body=(
            "<p>Привет, {{ contact.first_name }}! " + "Long line of text. " * 40 + "</p>"
            "<p>.a line that starts with a dot</p><p>From here on, a line starting with From</p>"
            '<p><a href="https://shop.example.com/sale?a=1&b=2">Sale</a> 100% = deal</p>'
        ),
        products=[ProductFactory(name="Кружка")],
        coupon=CouponFactory(code="SAVE=10"),
    )


def message_for(campaign, contact) -> Message:
    send = Send.objects.create(campaign=campaign, content=compile_campaign(campaign).to_json())
    return Message.objects.create(send=send, contact=contact, email=contact.email)


def test_the_prepared_bytes_read_like_the_email_package_s_message(campaign):
    # given
    contact = ContactFactory(email="anna@example.com", first_name="Анна")
    message = message_for(campaign, contact)
    prepared = prepared_mail(message.send)

    # when
    fast = read(prepared.as_bytes(message))
    slow = parsed(prepared.as_email(message))

    # then a mail client sees the same mail
    assert fast["Subject"] == slow["Subject"] == "Скидки для вас, Анна!"
    assert fast["From"] == slow["From"]
    assert str(fast["From"]) == "Магазин Demo <news@shop.example.com>"
    for header in ["To", "Reply-To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"]:
        assert fast[header] == slow[header], header
    # On the wire every line ends in CRLF; the parser keeps what it was given.
    assert text_part(fast).replace("\r\n", "\n") == text_part(slow)
    assert html_part(fast).replace("\r\n", "\n") == html_part(slow)
    assert "Привет, Анна!" in html_part(fast) and "SAVE=10" in text_part(fast)
    assert fast.get_content_type() == "multipart/alternative"
    assert fast["Date"]


def test_every_line_is_short_enough_for_smtp_and_ends_in_crlf(campaign):
    message = message_for(campaign, ContactFactory(first_name="Ann"))
    data = prepared_mail(message.send).as_bytes(message)
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii()


def test_a_name_with_a_line_break_cannot_add_a_header(campaign):
    contact = ContactFactory(first_name="Ann\r\nBcc: victim@example.com")
    message = message_for(campaign, contact)
    mail = read(prepared_mail(message.send).as_bytes(message))
    assert mail["Bcc"] is None
    assert "Ann Bcc: victim@example.com" in mail["Subject"]


def test_each_recipient_gets_their_own_message_id_and_unsubscribe_link(campaign):
    first = message_for(campaign, ContactFactory(first_name="Ann"))
    second = Message.objects.create(
        send=first.send, contact=ContactFactory(first_name="Ben"), email="ben@example.com"
    )
    prepared = prepared_mail(first.send)
    one, two = read(prepared.as_bytes(first)), read(prepared.as_bytes(second))
    assert one["Message-ID"] != two["Message-ID"]
    assert one["List-Unsubscribe"] != two["List-Unsubscribe"]
    assert two["To"] == "ben@example.com"
