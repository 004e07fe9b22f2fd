"""A contact's page tells what it did with each mail, in numbers that agree
with the campaign reports."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Link, Message, Send
from tests.factories import CampaignFactory, ContactFactory
from tests.helpers import BROWSER
from tracking import services
from tracking.facts import events_flush_all
from tracking.reports import campaign_report

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_click_without_a_pixel_shows_as_an_open_on_the_contact_and_the_report(client, charlie):
    ann = ContactFactory(email="ann@example.com")
    campaign = CampaignFactory(name="Autumn sale", status=Campaign.Status.SENT)
    sent_at = timezone.now() - timedelta(hours=2)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE, started_at=sent_at)
    Link.objects.create(send=send, index=0, url="https://shop.example.com/autumn")
    message = Message.objects.create(
        send=send, contact=ann, email=ann.email, status="sent", sent_at=sent_at
    )
    services.hit_record(
        message_id=message.pk, kind="clicked", ip=None, user_agent=BROWSER, link_index=0,
        url="https://shop.example.com/autumn", at=sent_at + timedelta(hours=1),
    )  # fmt: skip
    events_flush_all(settle_seconds=0)
    client.force_login(charlie)

    page = client.get(reverse("contacts:detail", args=[ann.pk]))

    html = page.content.decode()
    [(_, panel)] = [p for p in page.context["panels"] if "timeline" in p[1]]
    assert panel["totals"]["opened"] == panel["totals"]["clicked"] == 1
    assert campaign_report(campaign=campaign).opened == 1
    assert "Last opened</dt><dd>Never" not in html
    assert "Autumn sale" in html and ">Clicked<" in html
