"""Priority lanes: transactional mail never waits behind a newsletter."""

import time

import pytest

from campaigns.models import Campaign, Message, Send
from campaigns.services import campaign_send, send_cancel
from tests.conftest import lane_queues
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.reliability.helpers import audience, statuses

pytestmark = pytest.mark.worker

NEWSLETTER_SIZE = 20_000
BULK_BATCH = 200


def test_an_order_confirmation_overtakes_a_big_newsletter_which_staff_then_cancel(sink, workers):
    # given a 20,000-recipient newsletter going out through the bulk lane
    transactional, _, bulk = lane_queues()
    group, _ = audience(NEWSLETTER_SIZE)
    buyers = GroupFactory(name="Buyers")
    buyer = ContactFactory(email="buyer@example.com", groups=[buyers])
    sink.delay = 0.01
    workers.start("bulk", queues=[bulk], SEND_BATCH_SIZE=BULK_BATCH)
    workers.start("transactional", queues=[transactional])
    newsletter = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for(lambda: sink.count() > 0, what="the newsletter to start", send=newsletter)

    # when the shop sends an order confirmation
    ordered_at = time.monotonic()
    confirmation = campaign_send(
        campaign=CampaignFactory(
            name="Your order",
            kind=Campaign.Kind.TRANSACTIONAL,
            groups=[buyers],
        )
    )
    workers.wait_for(
        lambda: buyer.email in sink.received(), what="the order confirmation", send=confirmation
    )

    # then it went out while most of the newsletter was still waiting, and
    # before even one more batch of the newsletter could
    assert statuses(newsletter)["queued"] > NEWSLETTER_SIZE * 0.75
    arrived_at = next(mail.at for mail in sink.mails() if mail.recipient == buyer.email)
    newsletter_mails_meanwhile = sum(ordered_at < mail.at < arrived_at for mail in sink.mails())
    assert newsletter_mails_meanwhile < BULK_BATCH
    workers.wait_for_send(confirmation)

    # when staff cancel the newsletter
    assert send_cancel(send=newsletter)
    workers.wait_for_send(newsletter, Send.Status.CANCELLED)

    # then the rest is skipped, and the counts add up
    delivered = [mail for mail in sink.mails() if mail.recipient != buyer.email]
    assert not sink.duplicates()
    assert statuses(newsletter) == {
        "sent": len(delivered),
        "skipped": NEWSLETTER_SIZE - len(delivered),
    }
    skipped = Message.objects.filter(send=newsletter, status=Message.Status.SKIPPED)
    assert set(skipped.values_list("skip_reason", flat=True)) == {"cancelled"}
