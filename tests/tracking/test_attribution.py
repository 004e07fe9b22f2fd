"""Orders credited to the mail a person clicked before buying."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from campaigns import tokens
from campaigns.models import Message
from campaigns.services import campaign_send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tracking import api_keys
from tracking.facts import tallies_of, tally_rebuild
from tracking.models import Attribution

pytestmark = pytest.mark.django_db(transaction=True)
SHOP = ("orders", "revenue")


@pytest.fixture
def secret(alice):
    return api_keys.api_key_create(name="Shop", actor=alice)[1]


@pytest.fixture
def message():
    """Ann's mail of a sent campaign."""
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))
    assert len(django_mail.outbox) == 1
    return Message.objects.get()


def place_order(client, secret, *, event_id="evt-1", order_id="o-1", at=None, total="30.00",
                token="", email="ann@example.com"):  # fmt: skip
    event = {
        "id": event_id, "type": "order.created",
        "occurred_at": (at or timezone.now()).isoformat(),
        "data": {"order": {"id": order_id, "customer": {"email": email}, "total": total,
                           "currency": "EUR", "click_token": token}},
    }  # fmt: skip
    return client.post(
        "/api/v1/events", data=json.dumps(event), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip


def clicked(message, ago: timedelta) -> None:
    Message.objects.filter(pk=message.pk).update(clicked_at=timezone.now() - ago)


def test_an_order_two_days_after_a_click_is_credited_to_that_mail(client, secret, message):
    clicked(message, timedelta(days=2))

    place_order(client, secret)

    message.refresh_from_db()
    assert (message.orders, message.revenue) == (1, Decimal("30.00"))
    tallies = tallies_of(message.send_id)
    assert tallies[("total", "", "orders")] == 1 and tallies[("total", "", "revenue")] == 3000
    rebuilt = {k: v for k, v in tally_rebuild(message.send_id).items() if k[2] in SHOP}
    assert rebuilt == {k: v for k, v in tallies.items() if k[2] in SHOP}  # rebuilt = kept
    assert Attribution.objects.get().by == "click"


def test_an_order_outside_the_window_or_without_a_click_is_not_credited(
    client, secret, message, settings
):
    settings.ATTRIBUTION_WINDOW_DAYS = 5
    clicked(message, timedelta(days=6))
    place_order(client, secret, event_id="e1", order_id="o-1")
    Message.objects.filter(pk=message.pk).update(clicked_at=None)  # opened, never clicked
    place_order(client, secret, event_id="e2", order_id="o-2")

    message.refresh_from_db()
    assert message.orders == 0 and not Attribution.objects.exists()


def test_the_click_token_from_the_landing_page_credits_the_order(client, secret, message):
    token = tokens.click_token(message.pk, 0, message.send_id)

    place_order(client, secret, token=token)  # no click recorded yet: the token says
    forged = tokens.click_token(message.pk + 999, 0, message.send_id)
    place_order(client, secret, event_id="e2", order_id="o-2", token=forged)

    message.refresh_from_db()
    assert message.orders == 1 and Attribution.objects.get().by == "token"


def test_a_repeated_order_event_is_credited_once(client, secret, message):
    clicked(message, timedelta(hours=3))
    place_order(client, secret)
    place_order(client, secret)
    place_order(client, secret, event_id="evt-2")  # the same order, another event

    message.refresh_from_db()
    assert message.orders == 1


def test_the_report_and_the_dashboard_show_the_revenue(client, secret, message, alice):
    clicked(message, timedelta(hours=3))
    place_order(client, secret, total="30.00")

    client.force_login(alice)
    report = client.get(reverse("reports:campaign", args=[message.send.campaign_id]))
    figures = dict(report.context["figures"]["shop"])
    assert figures["Orders"] == 1 and figures["Revenue"] == "30.00"
    assert figures["Revenue per recipient"] == "30.00" and figures["Conversion rate"] == "100.0%"
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Revenue from email" in dashboard and "30.00" in dashboard


def test_the_contact_page_lists_the_orders_and_the_mail_credited(client, secret, message, alice):
    clicked(message, timedelta(hours=3))
    place_order(client, secret, order_id="o-77", total="30.00")
    place_order(
        client, secret, event_id="e2", order_id="o-78", at=timezone.now() - timedelta(days=30)
    )

    client.force_login(alice)
    page = client.get(reverse("contacts:detail", args=[message.contact_id])).content.decode()

    assert "o-77" in page and "o-78" in page
    assert page.count(message.send.campaign.name) >= 1
    assert ">2<" in page.replace(" ", "")  # two orders
