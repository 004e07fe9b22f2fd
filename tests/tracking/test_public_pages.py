"""The recipient's pages around unsubscribing and broken links: the shop's
name and a way back to it, never the staff layout."""

import pytest
from django.urls import reverse

from campaigns import tokens
from campaigns.models import Message, Send
from contacts.models import ConsentRecord, Contact
from tests.factories import CampaignFactory, ContactFactory


@pytest.fixture
def ann_message(db, settings):
    settings.SHOP_NAME = "Acme Garden"
    settings.SHOP_URL = "https://garden.example.com"
    ann = ContactFactory(email="ann@example.com")
    send = Send.objects.create(campaign=CampaignFactory(from_name="Acme"), status="done")
    return Message.objects.create(send=send, contact=ann, email=ann.email, status="sent")


def _unsubscribe_url(message) -> str:
    return reverse("tracking:unsubscribe", args=[tokens.unsubscribe_token(message.pk)])


def _is_recipient_page(html: str) -> bool:
    return (
        "Acme Garden" in html and "https://garden.example.com" in html and "Dashboard" not in html
    )


def test_a_scanner_opening_the_link_unsubscribes_nobody(client, ann_message):
    page = client.get(_unsubscribe_url(ann_message))
    assert page.status_code == 200 and _is_recipient_page(page.content.decode())
    assert Contact.objects.get(email="ann@example.com").status == Contact.Status.SUBSCRIBED


def test_an_unsubscribed_contact_is_told_so_and_may_undo_it(client, ann_message):
    url = _unsubscribe_url(ann_message)
    done = client.post(url).content.decode()
    assert "You are unsubscribed" in done and "That was a mistake" in done

    again = client.get(url).content.decode()
    assert "You are already unsubscribed" in again

    token = tokens.unsubscribe_token(ann_message.pk)
    back = client.post(reverse("tracking:resubscribe", args=[token]))
    assert back.status_code == 200 and "Welcome back" in back.content.decode()
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.status == Contact.Status.SUBSCRIBED
    record = ann.consents.get()
    assert record.action == ConsentRecord.Action.RESUBSCRIBED
    assert record.wording


def test_a_complained_contact_cannot_be_resubscribed_from_the_page(client, ann_message):
    Contact.objects.filter(pk=ann_message.contact_id).update(status=Contact.Status.COMPLAINED)
    token = tokens.unsubscribe_token(ann_message.pk)
    page = client.post(reverse("tracking:resubscribe", args=[token]))
    assert page.status_code == 409
    assert Contact.objects.get(pk=ann_message.contact_id).status == Contact.Status.COMPLAINED


@pytest.mark.parametrize("path", ["/t/c/not-a-token", "/t/u/x.y", "/t/v/é", "/t/c/AAAA.bbbb"])
def test_a_broken_link_lands_on_the_shops_page_not_the_dashboard(client, ann_message, path):
    page = client.get(path)
    assert page.status_code == 404
    html = page.content.decode()
    assert _is_recipient_page(html)
    assert "This link does not lead anywhere" in html
    assert "Back to the dashboard" not in html
