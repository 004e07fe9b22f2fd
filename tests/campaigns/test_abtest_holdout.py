"""The holdout: a random share kept from the mail, and the lift over it."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from campaigns.holdout import campaign_lift
from campaigns.models import Message
from campaigns.scheduling import plan_set_holdout
from campaigns.services import campaign_send
from contacts.models import Contact, Order
from tests.factories import CampaignFactory, GroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


def audience(size: int):
    group = GroupFactory(name="Newsletter")
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"c{i:03d}@example.com") for i in range(size)]
    )
    group.contacts.add(*contacts)
    return group


def test_a_random_share_is_held_out_and_the_lift_is_reported(client, alice):
    group = audience(200)
    Contact.objects.filter(email="c199@example.com").update(status="unsubscribed")
    campaign = CampaignFactory(groups=[group])
    plan_set_holdout(campaign=campaign, percent=10)

    campaign_send(campaign=campaign)

    # 10% of the 199 who may get it: floor(19.9) = 19 held out, 180 mailed
    held = Message.objects.filter(skip_reason="holdout")
    assert held.count() == 19
    assert Message.objects.filter(status="sent").count() == 180
    assert len(django_mail.outbox) == 180
    assert Message.objects.get(email="c199@example.com").skip_reason == "unsubscribed"

    # no orders yet
    client.force_login(alice)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "No orders yet" in page

    # 18 of the 180 mailed buy for 50.00 each (10%), 1 of the 19 held out for 50.00 (5.26%)
    mailed_ids = list(Message.objects.filter(status="sent").values_list("contact_id", flat=True))
    held_ids = list(held.values_list("contact_id", flat=True))
    later = timezone.now() + timedelta(days=1)
    for n, contact_id in enumerate([*mailed_ids[:18], held_ids[0]]):
        Order.objects.create(
            external_id=f"o{n}", contact_id=contact_id, total=Decimal("50.00"), placed_at=later
        )
    Order.objects.create(  # cancelled orders do not count
        external_id="void",
        contact_id=mailed_ids[20],
        total=Decimal("900"),
        placed_at=later,
        status="cancelled",
    )

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        lift = campaign_lift(campaign=campaign)
        page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert (lift.mailed.contacts, lift.mailed.buyers, lift.mailed.orders) == (180, 18, 18)
    assert (lift.holdout.contacts, lift.holdout.buyers) == (19, 1)
    # buyers: 10% against 1/19 = 5.263%: lift 0.1 / 0.05263 - 1 = 0.9
    assert lift.buyer_lift == pytest.approx(0.9)
    # revenue per contact: 5.00 against 50/19 = 2.6316: lift 0.9; extra (5 - 2.6316) * 180 = 426.32
    assert lift.revenue_lift == pytest.approx(0.9)
    assert lift.extra_revenue == pytest.approx(Decimal("426.32"), abs=Decimal("0.01"))
    assert "Lift in buyers" in page and "90%" in page


def test_without_a_holdout_there_is_no_lift():
    group = audience(10)
    campaign = CampaignFactory(groups=[group])
    campaign_send(campaign=campaign)
    assert not Message.objects.filter(skip_reason="holdout").exists()
    assert campaign_lift(campaign=campaign) is None
